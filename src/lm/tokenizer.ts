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

const strict = new TextDecoder('utf-8', { fatal: true });

/** Byte length of the UTF-8 sequence a lead byte starts (1–4), or 0 for a byte that cannot start one. */
const seqLength = (b: number) => (b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0);

/**
 * Like {@link decode}, but every byte that is not part of a valid UTF-8 sequence is shown as `\xNN`
 * (two hex digits) instead of U+FFFD, so sampled bytes stay visible; a literal backslash is `\\`.
 */
export function decodeEscaped(ids: ArrayLike<number>): string {
  const bytes = Uint8Array.from(Array.from(ids).filter((i) => i < NUM_BYTES));
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const n = seqLength(bytes[i]);
    let text: string | undefined;
    if (n > 0 && i + n <= bytes.length) {
      try {
        text = strict.decode(bytes.subarray(i, i + n));
      } catch {
        text = undefined;
      }
    }
    if (text === undefined) {
      out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
      i += 1;
    } else {
      out += text === '\\' ? '\\\\' : text;
      i += n;
    }
  }
  return out;
}
