// SMS length counter: the same rules as the server's sms.Count (package sms), so the
// composer shows what the gateway will send. A shared table of test strings
// (webui/testdata/count_cases.json) is checked against both.

// The GSM 03.38 default alphabet (one septet each) and its extension table (two septets:
// escape + character). U+001B itself is excluded: the server sends it as UCS-2.
const BASE = "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" +
  "\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0\u00e4\u00e5\u00e6" +
  "\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a6\u03a8\u03a9";
const EXT = "\f[\\]^{|}~\u20ac";

const base = new Set(Array.from(BASE));
const ext = new Set(Array.from(EXT));

// septets returns 1 or 2 for a GSM-7 character, 0 when it has none.
function septets(ch) {
  if (base.has(ch)) return 1;
  if (ext.has(ch)) return 2;
  return 0;
}

// utf16 returns the UTF-16 code units of one code point.
function utf16(ch) {
  return ch.codePointAt(0) > 0xffff ? 2 : 1;
}

// count mirrors sms.Count: encoding, characters, units, segments, units per segment,
// units left in the last segment and the characters that force UCS-2.
export function count(text) {
  const chars = Array.from(text);
  let enc = "gsm7";
  let units = 0;
  const forcing = [];
  for (const ch of chars) {
    const n = septets(ch);
    if (n > 0) {
      units += n;
      continue;
    }
    enc = "ucs2";
    if (!forcing.includes(ch)) forcing.push(ch);
  }
  let single = 160, multi = 153;
  if (enc === "ucs2") {
    single = 70;
    multi = 67;
    units = 0;
    for (const ch of chars) units += utf16(ch);
  }
  if (units <= single) {
    return { encoding: enc, characters: chars.length, units, segments: 1, perSegment: single,
      unitsLeft: single - units, forcing };
  }
  let segments = 1, used = 0;
  for (const ch of chars) {
    const n = enc === "gsm7" ? septets(ch) : utf16(ch);
    if (used + n > multi) {
      segments++;
      used = 0;
    }
    used += n;
  }
  return { encoding: enc, characters: chars.length, units, segments, perSegment: multi,
    unitsLeft: multi - used, forcing };
}

// LOOKALIKES are characters that force UCS-2 but have a GSM-7 twin that reads the same.
export const LOOKALIKES = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
  "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
  "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
  "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
  "\u2022": "*", "\u00b7": ".", "\u02c6": "^", "\u02dc": "~",
};

// replaceLookalikes swaps every look-alike for its GSM-7 twin.
export function replaceLookalikes(text) {
  let out = "";
  for (const ch of text) out += Object.hasOwn(LOOKALIKES, ch) ? LOOKALIKES[ch] : ch;
  return out;
}

// describe names a character for people: visible ones as themselves, others by code.
export function describe(ch) {
  const cp = ch.codePointAt(0);
  const hex = "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || /\s/.test(ch) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfeff) {
    return hex;
  }
  return ch + " (" + hex + ")";
}
