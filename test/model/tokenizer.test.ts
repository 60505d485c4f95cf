// Tokenizers: the built-in vocabulary round-trips any text, a byte-level BPE tokenizer.json runs raw (no specials), prefix layout.
import { describe, expect, it } from "vitest";
import { presetConfig, tokenLayout } from "../../src/model/config.ts";
import { checkTokenLayout } from "../../src/model/layout.ts";
import { buildPrefix, builtinTokenizer, hfTokenizer, trainVocabulary } from "../../src/model/tokenizer.ts";

/** GPT-2 / Qwen bytes_to_unicode: the printable stand-in character of each byte. */
function byteChars(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(keep(b) ? b : 256 + extra++));
}

/** A small byte-level BPE tokenizer.json in Qwen2's format (its pre-tokenizer regex, ByteLevel, NFC). */
function tinyQwenStyleJson(): string {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges = ["p i", "c k", "pi ck", "Ġ b", "Ġb o", "Ġbo x"];
  merges.forEach((m, i) => (vocab[m.replace(" ", "")] = 256 + i));
  const regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return JSON.stringify({
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 300, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: "NFC" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    ] },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  });
}

describe("built-in tokenizer", () => {
  const tok = builtinTokenizer(512);
  it("round-trips any text, known words as single ids, the rest as UTF-8 bytes", () => {
    for (const s of ["pick up the red cube", "Place the blåbær in the bin!", "  spaces  and\ttabs", ""]) expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.encode("pick up the red cube").length).toBe(5);
    expect(Math.max(...tok.encode("ünïcödé"))).toBeLessThan(257);
  });
  it("learns its words from a corpus, most frequent first", () => {
    expect(trainVocabulary(["put the cup", "put the bowl", "the end"], 2)).toEqual(["the", "put"]);
  });
});

describe("Hugging Face tokenizer.json (byte-level BPE)", () => {
  const tok = hfTokenizer(tinyQwenStyleJson());
  it("applies the merges, adds no special tokens, and decodes back", () => {
    expect(tok.encode("pick box")).toEqual([258, 261]);
    expect(tok.decode(tok.encode("Pick the box, then 2 cups.\n"))).toBe("Pick the box, then 2 cups.\n");
    expect(tok.vocabSize).toBe(301);
  });
});

describe("prefix builder", () => {
  it("lays out cameras then padded text as the official transform, and masks a missing camera", () => {
    const cfg = presetConfig("tiny");
    const tok = builtinTokenizer(cfg.text_config.vocab_size);
    const { ids, mask } = buildPrefix(tok, "pick up the red cube", [1, 0, 1], cfg);
    checkTokenLayout({ batch: 1, tokenIds: ids, tokenMask: mask, imageMasks: [1, 0, 1] }, cfg);
    const per = tokenLayout(cfg).imageTokens + 2;
    expect(Array.from(mask.slice(per, 2 * per)).every((m) => m === 0)).toBe(true);
    expect(Array.from(mask.slice(3 * per))).toEqual([1, 1, 1, 1, 1, ...Array(cfg.n_text_tokens - 5).fill(0)]);
    expect(tok.decode(Array.from(ids.slice(3 * per, 3 * per + 5)))).toBe("pick up the red cube");
  });
});
