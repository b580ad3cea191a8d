//! How many SMS segments a text costs, as GSM 03.38 (3GPP TS 23.038) and carriers count them:
//! a text in the GSM 7-bit default alphabet fits 160 septets in one segment and 153 per segment
//! once split (the rest is the concatenation header); a character of the extension table takes
//! an escape plus itself, two septets, and is never split across segments. Any character
//! outside both tables makes the whole text UCS-2: 70 UTF-16 units in one segment, 67 per
//! segment once split, a surrogate pair never split.

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// The GSM 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UTF-16, for anything else.
    Ucs2,
}

/// The GSM 7-bit default alphabet, one septet each (escape 0x1B left out: it is not text).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
    ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: escape plus the character, two septets each.
const GSM_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or `None` when GSM-7 cannot carry it.
fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Segments needed for units of these sizes: `single` fits one segment, otherwise parts of
/// `per_part` filled in order without splitting a unit.
fn count(sizes: impl Iterator<Item = usize> + Clone, single: usize, per_part: usize) -> usize {
    let total: usize = sizes.clone().sum();
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let mut parts = 1;
    let mut used = 0;
    for size in sizes {
        if used + size > per_part {
            parts += 1;
            used = 0;
        }
        used += size;
    }
    parts
}

/// The encoding of `body` and the number of segments it is sent as (0 for an empty body).
pub fn sms_segments(body: &str) -> (SmsEncoding, usize) {
    if body.chars().all(|c| gsm_septets(c).is_some()) {
        let septets = body.chars().map(|c| gsm_septets(c).unwrap_or(1));
        (SmsEncoding::Gsm7, count(septets, 160, 153))
    } else {
        let units = body.chars().map(char::len_utf16);
        (SmsEncoding::Ucs2, count(units, 70, 67))
    }
}

/// `text` in the GSM 7-bit alphabet: letters GSM-7 lacks lose their accent (`á` → `a`,
/// `ç` → `c`), typographic dashes and quotes become plain ones, and anything else GSM-7
/// cannot carry becomes `?`. For a reply built from words a city may have written with any
/// character (its office hours, `Monday–Friday`): one such character would make the whole
/// text UCS-2, 70 characters a segment instead of 160.
pub fn gsm7_fold(text: &str) -> String {
    text.chars()
        .map(|c| {
            if gsm_septets(c).is_some() {
                return c;
            }
            match c {
                'á' | 'â' | 'ã' | 'ā' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' => 'A',
                'ê' | 'ë' | 'ē' => 'e',
                'È' | 'Ê' | 'Ë' => 'E',
                'í' | 'î' | 'ï' => 'i',
                'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
                'ó' | 'ô' | 'õ' => 'o',
                'Ó' | 'Ò' | 'Ô' | 'Õ' => 'O',
                'ú' | 'û' => 'u',
                'Ú' | 'Ù' | 'Û' => 'U',
                'ç' => 'c',
                'ý' | 'ÿ' => 'y',
                'Ý' => 'Y',
                '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
                '\u{2018}' | '\u{2019}' | '\u{201A}' | '`' | '´' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
                '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\t' => ' ',
                _ => '?',
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_text_is_always_gsm7() {
        assert_eq!(
            gsm7_fold("lunes a sábado, 8–17 h; “miércoles” cerrado"),
            "lunes a sabado, 8-17 h; \"miércoles\" cerrado",
            "é is GSM-7; á is not"
        );
        assert_eq!(gsm7_fold("Señor Müller, ¿qué?"), "Señor Müller, ¿qué?");
        assert_eq!(gsm7_fold("call 😀 now"), "call ? now");
        let every: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert_eq!(sms_segments(&gsm7_fold(&every)).0, SmsEncoding::Gsm7);
    }

    #[test]
    fn the_basic_table_has_its_127_characters() {
        assert_eq!(GSM_BASIC.chars().count(), 127);
        assert_eq!(GSM_EXTENSION.chars().count(), 10);
        let mut all: Vec<char> = GSM_BASIC.chars().chain(GSM_EXTENSION.chars()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 137);
    }

    #[test]
    fn gsm_single_and_concatenated() {
        assert_eq!(sms_segments(""), (SmsEncoding::Gsm7, 0));
        assert_eq!(sms_segments("Hello"), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"a".repeat(160)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"a".repeat(161)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(306)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(307)), (SmsEncoding::Gsm7, 3));
        assert_eq!(sms_segments(&"a".repeat(459)), (SmsEncoding::Gsm7, 3));
    }

    #[test]
    fn extension_characters_count_double_and_are_not_split() {
        assert_eq!(sms_segments(&"€".repeat(80)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"€".repeat(81)), (SmsEncoding::Gsm7, 2));
        assert_eq!(
            sms_segments(&format!("{}{{", "a".repeat(159))),
            (SmsEncoding::Gsm7, 2)
        );
        // 306 septets, but the escape pair cannot straddle the first boundary.
        let straddling = format!("{}[{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(sms_segments(&straddling), (SmsEncoding::Gsm7, 3));
        let aligned = format!("{}[{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(sms_segments(&aligned), (SmsEncoding::Gsm7, 2));
    }

    #[test]
    fn spanish_letters_split_between_gsm_and_ucs2() {
        for word in ["é", "ñ", "Ñ", "ü", "Ü", "¿", "¡", "É", "à", "ò", "ì", "ù"] {
            assert_eq!(sms_segments(word).0, SmsEncoding::Gsm7, "{word}");
        }
        for word in ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú", "ç", "ê", "`", "“"] {
            assert_eq!(sms_segments(word).0, SmsEncoding::Ucs2, "{word}");
        }
    }

    #[test]
    fn ucs2_single_and_concatenated() {
        assert_eq!(sms_segments(&"á".repeat(70)), (SmsEncoding::Ucs2, 1));
        assert_eq!(sms_segments(&"á".repeat(71)), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"á".repeat(134)), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"á".repeat(135)), (SmsEncoding::Ucs2, 3));
        // One non-GSM letter turns an otherwise short GSM text into two UCS-2 segments.
        let mostly_gsm = format!("{}ó", "a".repeat(100));
        assert_eq!(sms_segments(&mostly_gsm), (SmsEncoding::Ucs2, 2));
    }

    #[test]
    fn surrogate_pairs_count_two_and_are_not_split() {
        assert_eq!(sms_segments(&"😀".repeat(35)), (SmsEncoding::Ucs2, 1));
        assert_eq!(sms_segments(&"😀".repeat(36)), (SmsEncoding::Ucs2, 2));
        let straddling = format!("{}😀{}", "á".repeat(66), "á".repeat(66));
        assert_eq!(sms_segments(&straddling), (SmsEncoding::Ucs2, 3));
    }
}
