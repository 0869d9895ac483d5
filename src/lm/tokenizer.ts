/**
 * Byte-level tokenizer of the language models: a text is NFC-normalised, line endings become
 * `\n`, and the UTF-8 bytes are the tokens (ids 0–255). Id 256 is BOS, prepended to every
 * training window and prompt. No vocabulary file can go missing or drift: the whole
 * configuration is {@link TOKENIZER_CONFIG}, recorded in every model directory.
 */

/** Number of byte tokens. */
export const NUM_BYTES = 256;
/** Beginning-of-sequence token id. */
export const BOS = 256;
/** Vocabulary size V of every model (256 bytes + BOS). */
export const VOCAB_SIZE = 257;

/** The tokenizer's configuration, as stored in `model.json`. */
export const TOKENIZER_CONFIG = {
  kind: 'byte-level',
  normalization: 'NFC, CRLF/CR -> LF',
  vocabSize: VOCAB_SIZE,
  specialTokens: { bos: BOS },
} as const;

export type TokenizerConfig = typeof TOKENIZER_CONFIG;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Normalise a text as the tokenizer does before encoding (NFC, LF line endings). */
export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\r\n?/g, '\n');
}

/** Token ids (uint8 bytes, ids 0–255) of `text`, without BOS. */
export function encode(text: string): Uint8Array {
  return encoder.encode(normalizeText(text));
}

/**
 * Text of token ids. BOS is dropped; byte sequences that are not valid UTF-8 (a sample cut inside
 * a multi-byte character) decode to U+FFFD.
 */
export function decode(ids: ArrayLike<number>): string {
  const bytes: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] < NUM_BYTES) bytes.push(ids[i]);
  return decoder.decode(new Uint8Array(bytes));
}
