// Text tokenizers (Qwen byte-level BPE from tokenizer.json; a small built-in vocabulary for tiny configs) and the prefix builder.
import { Tokenizer } from "@huggingface/tokenizers";
import { ConfigError, ShapeError } from "../tensor/errors.ts";
import { tokenLayout, type ModelConfig } from "./config.ts";

/** What the model needs from a tokenizer: raw text to ids (no special tokens, no chat template) and back. */
export interface TextTokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/**
 * A Hugging Face tokenizer.json (e.g. Qwen3-VL's byte-level BPE) through @huggingface/tokenizers. The task
 * string is encoded raw, without special tokens, as the official transform does.
 */
export function hfTokenizer(tokenizerJson: string, tokenizerConfigJson = "{}", where = "tokenizer.json"): TextTokenizer {
  let tok: Tokenizer;
  let vocabSize: number;
  try {
    const json = JSON.parse(tokenizerJson) as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] };
    tok = new Tokenizer(json, JSON.parse(tokenizerConfigJson) as object);
    const ids = [...Object.values(json.model?.vocab ?? {}), ...(json.added_tokens ?? []).map((t) => t.id)];
    vocabSize = ids.reduce((a, b) => Math.max(a, b), -1) + 1;
  } catch (e) {
    throw new ConfigError(`${where}: cannot build a tokenizer (${(e as Error).message})`, "pass the tokenizer.json of the checkpoint's Qwen3-VL processor");
  }
  return {
    vocabSize,
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode([...ids], { skip_special_tokens: false }),
  };
}

/** Id ranges of the built-in vocabulary: 0 pad, 1..256 bytes, then words, then the three vision specials at the top. */
const BYTE_BASE = 1;
const WORD_BASE = BYTE_BASE + 256;
/** Specials at the end of a built-in vocabulary of `size`: vision_start, vision_end, image_pad (tiny preset: 509..511). */
export const BUILTIN_SPECIALS = 3;

/** Words of the instructions our simulator and demos use; `trainVocabulary` builds one from any corpus. */
export const DEFAULT_WORDS: readonly string[] = [
  "pick", "place", "put", "the", "a", "up", "on", "in", "into", "onto", "to", "and", "of", "from", "move", "grasp", "lift", "stack",
  "sort", "push", "open", "close", "drawer", "box", "cube", "block", "bar", "ball", "cup", "bowl", "tray", "bin", "pad", "plate",
  "red", "green", "blue", "yellow", "orange", "purple", "white", "black", "left", "right", "top", "bottom", "front", "back",
  "by", "colour", "color", "hand", "over", "it", "then", "both", "arms", "arm", "object", "objects", "belt", "conveyor", "moving",
  "item", "items", "with", "two", "take", "drop", "handover", "zone", "area", "next", "this", "that", "is", "them",
];

/** The most frequent whitespace-separated words of `corpus` (ties alphabetical), at most `max` of them. */
export function trainVocabulary(corpus: readonly string[], max: number): string[] {
  const counts = new Map<string, number>();
  for (const line of corpus) for (const w of line.split(/\s+/).filter(Boolean)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, max).map(([w]) => w);
}

/**
 * The built-in tokenizer of tiny configs: whole words from `words` (a leading space is part of every word
 * after the first), anything else as UTF-8 bytes, so every string round-trips. `vocabSize` includes the three
 * vision specials at the top (vision_start = size-3, vision_end = size-2, image_pad = size-1).
 */
export function builtinTokenizer(vocabSize: number, words: readonly string[] = DEFAULT_WORDS): TextTokenizer {
  const room = vocabSize - WORD_BASE - BUILTIN_SPECIALS;
  if (room < 0) throw new ConfigError(`builtinTokenizer: vocab_size ${vocabSize} is too small; it needs at least ${WORD_BASE + BUILTIN_SPECIALS}`);
  const single = [...new Set(words.filter((w) => !/\s/.test(w)))].slice(0, Math.floor(room / 2));
  const table = [...single, ...single.map((w) => ` ${w}`)]; // bare (first word) and space-led forms
  const byWord = new Map(table.map((w, i) => [w, WORD_BASE + i]));
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    vocabSize,
    encode(text) {
      const ids: number[] = [];
      for (const piece of text.match(/\s*\S+|\s+$/g) ?? []) {
        const id = byWord.get(piece);
        if (id !== undefined) ids.push(id);
        else for (const b of encoder.encode(piece)) ids.push(BYTE_BASE + b);
      }
      return ids;
    },
    decode(ids) {
      const bytes: number[] = [];
      for (const id of ids) {
        if (id >= WORD_BASE && id < WORD_BASE + table.length) bytes.push(...encoder.encode(table[id - WORD_BASE]));
        else if (id >= BYTE_BASE && id < WORD_BASE) bytes.push(id - BYTE_BASE);
      }
      return decoder.decode(new Uint8Array(bytes));
    },
  };
}

/**
 * The prefix of one sample as the official transform builds it: per camera vision_start, the image-pad run and
 * vision_end at 3B, the image-pad run alone at 2B (a missing camera keeps its slot, mask 0), then the raw task ids right-padded / truncated to
 * n_text_tokens with pad_token_id (mask 0 on padding). `imageMask[v]` is 1 when camera v is present.
 */
export function buildPrefix(tok: TextTokenizer, task: string, imageMask: readonly number[], cfg: ModelConfig): { ids: Int32Array; mask: Float32Array } {
  if (imageMask.length !== cfg.n_views) throw new ShapeError(`buildPrefix: expected ${cfg.n_views} camera flags, got ${imageMask.length}`);
  const { imageTokens, prefix, markers } = tokenLayout(cfg);
  const ids = new Int32Array(prefix).fill(cfg.pad_token_id);
  const mask = new Float32Array(prefix);
  let at = 0;
  for (let v = 0; v < cfg.n_views; v++) {
    const on = imageMask[v] ? 1 : 0;
    if (markers) ids[at] = cfg.vision_start_token_id;
    ids.fill(cfg.image_token_id, at + markers, at + markers + imageTokens);
    if (markers) ids[at + markers + imageTokens] = cfg.vision_end_token_id;
    mask.fill(on, at, at + imageTokens + 2 * markers);
    at += imageTokens + 2 * markers;
  }
  const text = tok.encode(task).slice(0, cfg.n_text_tokens);
  const bad = text.find((t) => t < 0 || t >= cfg.text_config.vocab_size);
  if (bad !== undefined) throw new ConfigError(`buildPrefix: token id ${bad} is outside the model vocabulary (${cfg.text_config.vocab_size})`, "use the tokenizer that matches the config");
  ids.set(text, at);
  mask.fill(1, at, at + text.length);
  return { ids, mask };
}
