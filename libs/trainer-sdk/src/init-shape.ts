import type { DescMessage, Message, MessageInitShape } from '@bufbuild/protobuf';

/**
 * The plain-object form of a generated message's init shape (without the
 * Message instance alternative), so SDK input types can Pick and Require its
 * fields: they follow the contract instead of being copied from it.
 */
export type PlainInit<Desc extends DescMessage> = Exclude<MessageInitShape<Desc>, Message>;
