//! From a report's text to hashed sparse features.
//!
//! A text is first [normalised](normalise) (truncated, full-width forms folded to ASCII, lower case,
//! every ASCII digit read as `0`), then cut into runs of letters and digits (CJK ideographs count as
//! letters; punctuation, spaces and emoji separate runs and are dropped). Each run gives:
//! - its character n-grams, n = 1..=`max_ngram` ([`Kind::Chars`]), unless it is plain ASCII (an
//!   English word);
//! - its words as jieba cuts them with its embedded dictionary ([`Kind::Word`]), and optionally
//!   each pair of neighbouring words ([`Kind::Pair`]).
//!
//! Every feature is hashed with its field (subject or body) and kind into one of `2^bits`
//! buckets: the subject and the body never share a weight. The hash is written here (FNV-1a with a
//! final mix) so that a model keeps meaning the same thing whatever the version of the toolchain
//! or of any crate.

use std::sync::LazyLock;

use jieba_rs::Jieba;

/// jieba with its embedded dictionary, loaded once (about a quarter of a second) on first use.
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads jieba's dictionary now rather than on the first suggestion.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Which part of a report a feature comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Subject,
    Body,
}

/// What a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Consecutive characters (1 to `max_ngram`).
    Chars,
    /// A word as jieba cuts it.
    Word,
    /// Two neighbouring words.
    Pair,
}

/// One feature as found in a text, borrowed from the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature<'a> {
    Chars(&'a str),
    Word(&'a str),
    Pair(&'a str, &'a str),
}

impl Feature<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Feature::Chars(_) => Kind::Chars,
            Feature::Word(_) => Kind::Word,
            Feature::Pair(..) => Kind::Pair,
        }
    }

    /// The feature as a person reads it (a pair as its two words with a space between).
    pub fn text(&self) -> String {
        match self {
            Feature::Chars(s) | Feature::Word(s) => (*s).to_string(),
            Feature::Pair(a, b) => format!("{a} {b}"),
        }
    }

    /// The feature's 64-bit hash within `field`; stable across versions and platforms.
    pub fn hash(&self, field: Field) -> u64 {
        let mut h = Fnv::new();
        h.byte(match field {
            Field::Subject => b's',
            Field::Body => b'b',
        });
        match self {
            Feature::Chars(s) => {
                h.byte(b'c');
                h.bytes(s.as_bytes());
            }
            Feature::Word(s) => {
                h.byte(b'w');
                h.bytes(s.as_bytes());
            }
            Feature::Pair(a, b) => {
                h.byte(b'p');
                h.bytes(a.as_bytes());
                h.byte(0x1f);
                h.bytes(b.as_bytes());
            }
        }
        h.finish()
    }
}

/// FNV-1a, 64 bits, with the splitmix64 finaliser so that the low bits are well mixed.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The first `max_chars` characters of `text`, normalised: full-width ASCII forms and the
/// ideographic space folded to ASCII, letters in lower case, ASCII digits read as `0` (numbers
/// in reports are dates, phone numbers and house numbers: noise to a category).
pub fn normalise(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(3)));
    for c in text.chars().take(max_chars) {
        let c = match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        };
        if c.is_ascii_digit() {
            out.push('0');
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` belongs to a run that features are taken from: letters (CJK ideographs are
/// letters to Unicode) and digits. Emoji, punctuation and spaces are not.
fn in_run(c: char) -> bool {
    c.is_alphanumeric()
}

/// Calls `emit` with every feature of an already [normalised](normalise) text, in order.
pub fn for_each_feature<'a>(text: &'a str, max_ngram: usize, word_pairs: bool, mut emit: impl FnMut(Feature<'a>)) {
    // Sentences end at punctuation; within a sentence, runs are separated by spaces (English
    // words) and word pairs may cross them.
    for sentence in text.split(|c: char| !in_run(c) && !c.is_whitespace()) {
        let mut previous: Option<&'a str> = None;
        for run in sentence.split(char::is_whitespace).filter(|r| !r.is_empty()) {
            // Character n-grams, of runs that are not plain ASCII (in Chinese a character is a
            // morpheme; in English the letters of a word say little): `starts` holds the byte
            // offset of each character and the end.
            if !run.is_ascii() {
                let starts: Vec<usize> = run.char_indices().map(|(i, _)| i).chain(std::iter::once(run.len())).collect();
                let chars = starts.len() - 1;
                for i in 0..chars {
                    for n in 1..=max_ngram.min(chars - i) {
                        emit(Feature::Chars(&run[starts[i]..starts[i + n]]));
                    }
                }
            }
            // Words. A run of ASCII letters is one word already: jieba is asked only when the
            // run holds something else.
            let mut word = |w: &'a str| {
                emit(Feature::Word(w));
                if word_pairs {
                    if let Some(p) = previous {
                        emit(Feature::Pair(p, w));
                    }
                }
                previous = Some(w);
            };
            if run.is_ascii() {
                word(run);
            } else {
                for token in JIEBA.cut(run, true) {
                    word(token.word);
                }
            }
        }
    }
}

/// The words of a text as jieba cuts it, after [normalisation](normalise); for building
/// synthetic texts and for looking at what the classifier sees.
pub fn words(text: &str) -> Vec<String> {
    let text = normalise(text, usize::MAX);
    let mut out = Vec::new();
    for_each_feature(&text, 0, false, |f| {
        if let Feature::Word(w) = f {
            out.push(w.to_string());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(text: &str, max_ngram: usize, pairs: bool) -> Vec<String> {
        let text = normalise(text, 2000);
        let mut out = Vec::new();
        for_each_feature(&text, max_ngram, pairs, |f| {
            out.push(format!(
                "{}:{}",
                match f.kind() {
                    Kind::Chars => "c",
                    Kind::Word => "w",
                    Kind::Pair => "p",
                },
                f.text()
            ))
        });
        out
    }

    #[test]
    fn normalising_folds_width_case_and_digits() {
        assert_eq!(normalise("ＡＢＣ１２３　路灯Ab", 100), "abc000 路灯ab");
        assert_eq!(normalise("路灯不亮了", 2), "路灯");
        assert_eq!(normalise("", 10), "");
    }

    #[test]
    fn jieba_cuts_chinese_into_words() {
        let w = words("小区门口的路灯坏了");
        assert!(w.contains(&"小区".to_string()), "{w:?}");
        assert!(w.contains(&"路灯".to_string()), "{w:?}");
        assert_eq!(w.concat(), "小区门口的路灯坏了");
    }

    #[test]
    fn features_are_character_ngrams_words_and_pairs_within_runs() {
        let f = features("路灯，坏了", 3, true);
        assert!(f.contains(&"c:路".to_string()));
        assert!(f.contains(&"c:路灯".to_string()));
        assert!(f.contains(&"w:路灯".to_string()));
        assert!(f.contains(&"c:坏了".to_string()));
        // Nothing crosses the comma.
        assert!(!f.iter().any(|s| s.contains('，') || s == "c:灯坏"));
        let g = features("street light broken", 2, true);
        assert!(g.contains(&"w:street".to_string()));
        assert!(!g.iter().any(|s| s.starts_with("c:")), "no letter n-grams of English words");
        // Pairs cross spaces but not punctuation.
        assert!(g.contains(&"p:street light".to_string()));
        assert!(!features("street, light", 1, true).iter().any(|s| s.starts_with("p:")));
    }

    #[test]
    fn emoji_and_punctuation_give_no_features() {
        assert!(features("😀😡🚧！？。…——", 3, true).is_empty());
        assert!(features("   ", 3, true).is_empty());
    }

    #[test]
    fn hashes_separate_fields_and_kinds_and_are_stable() {
        let f = Feature::Word("路灯");
        assert_ne!(f.hash(Field::Subject), f.hash(Field::Body));
        assert_ne!(Feature::Chars("路灯").hash(Field::Body), f.hash(Field::Body));
        assert_ne!(Feature::Pair("a", "bc").hash(Field::Body), Feature::Pair("ab", "c").hash(Field::Body));
        // A model's buckets depend on this value never changing.
        assert_eq!(Feature::Word("road").hash(Field::Body), 8_205_918_691_603_099_552);
    }
}
