/**
 * max_message_size for amqplib channels. AMQP announces a message's body size in its content header frame,
 * before any body frame arrives; amqplib's channel then collects every body frame and concatenates them, however
 * large. The guard wraps the channel's message-frame entry point (`acceptMessageFrame`, the state machine in
 * amqplib/lib/channel.js): on a content header over the limit it puts the state machine back to "expecting a
 * delivery", drops the body frames as they arrive (one frame of at most frame_max bytes in memory at a time),
 * rejects the delivery without requeueing it, and reports it. Other frames pass through untouched.
 */
import type { Channel, Message } from 'amqplib';

/** AMQP method and class ids (spec constants: class basic = 60, deliver = 60, return = 50). */
const BASIC_DELIVER = (60 << 16) | 60;
const BASIC_RETURN = (60 << 16) | 50;
const BASIC_PROPERTIES = 60;

/** A decoded frame as amqplib hands it to a channel. */
interface ChannelFrame {
  id?: number;
  size?: number;
  content?: Buffer;
  fields?: Record<string, unknown>;
}

/** The internals of amqplib's Channel the guard relies on. */
interface AssemblingChannel {
  acceptMessageFrame(frame: ChannelFrame): void;
  handleMessage: unknown;
}

/** What the guard reports for each dropped message. */
export interface OversizeDelivery {
  /** The size the content header announced. */
  bytes: number;
  /** `exchange/routing-key` of the delivery or return, for the log line. */
  where: string;
}

/**
 * Installs the guard on a freshly created channel (no message half-assembled yet). Throws when amqplib's
 * internals are not what the guard expects, so an incompatible amqplib fails loudly instead of unguarded.
 * `acknowledged` false: the channel's consumers take deliveries without acknowledgements (no-ack), so a dropped
 * one is not rejected (rejecting a delivery tag of a no-ack consumer is a channel error).
 */
export function guardMessageSize(channel: Channel, limit: number, onOversize: (delivery: OversizeDelivery) => void, acknowledged = true): void {
  const target = channel as unknown as AssemblingChannel;
  if (typeof target.acceptMessageFrame !== 'function' || typeof target.handleMessage !== 'function') {
    throw new TypeError('amqplib Channel has no acceptMessageFrame/handleMessage: the max_message_size guard cannot be installed');
  }
  const accept = target.acceptMessageFrame.bind(target);
  const expectingDelivery = target.handleMessage;
  let opening: ChannelFrame | undefined;
  let skipping = 0;
  target.acceptMessageFrame = (frame: ChannelFrame): void => {
    if (skipping > 0 && frame.content !== undefined) {
      skipping = Math.max(0, skipping - frame.content.length);
      return;
    }
    if (frame.id === BASIC_DELIVER || frame.id === BASIC_RETURN) {
      opening = frame;
    } else if (frame.id === BASIC_PROPERTIES && typeof frame.size === 'number' && frame.size > limit) {
      target.handleMessage = expectingDelivery;
      skipping = frame.size;
      const fields = opening?.fields ?? {};
      onOversize({ bytes: frame.size, where: `${String(fields.exchange ?? '?')}/${String(fields.routingKey ?? '?')}` });
      // A delivery must be settled or it holds a prefetch slot: dropped for good (no requeue, it would come back).
      if (opening?.id === BASIC_DELIVER && acknowledged) channel.nack({ fields: opening.fields } as unknown as Message, false, false);
      opening = undefined;
      return;
    }
    accept(frame);
  };
}
