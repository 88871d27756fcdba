//! The face and mouth boxes of the 150 Happy House test photos, marked once
//! (`happy_house_faces.csv`, compiled in: the page needs no extra file, from a server or from
//! disk). They let the explanation measures ask of the real photos what the synthetic
//! generator answers from its geometry: does the evidence fall on the face or on the
//! background, on the mouth or elsewhere?
//!
//! The boxes belong to those exact pictures, so they are attached only to a test set whose
//! pixels and labels are the original file's, byte for byte (recognized by a fingerprint);
//! any other file, or the same one edited, gets none.

use super::{Landmarks, PixelBox};

const CSV: &str = include_str!("happy_house_faces.csv");

/// FNV-1a (64-bit) of the original test file's `test_set_x` bytes (150 x 64 x 64 x 3, as
/// stored) followed by its 150 labels as bytes.
const TEST_SET_FINGERPRINT: u64 = 0xea5c_d6d0_1d02_dc44;

/// The boxes of `pixels` (N, 64, 64, 3) and `labels` (N,) when they are the original Happy
/// House test set; `None` for anything else.
pub fn known_landmarks(pixels: &[u8], labels: &[u8]) -> Option<Vec<Landmarks>> {
    (fingerprint(pixels, labels) == TEST_SET_FINGERPRINT).then(test_set_landmarks)
}

/// The boxes of the 150 test photos, in the file's order.
pub fn test_set_landmarks() -> Vec<Landmarks> {
    CSV.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("index"))
        .map(|line| {
            let v: Vec<usize> = line
                .split(',')
                .skip(1)
                .take(8)
                .map(|field| field.parse().expect("the committed boxes are numbers"))
                .collect();
            let at = |k: usize| PixelBox {
                x0: v[k],
                y0: v[k + 1],
                x1: v[k + 2],
                y1: v[k + 3],
            };
            Landmarks {
                face: at(0),
                mouth: at(4),
            }
        })
        .collect()
}

fn fingerprint(pixels: &[u8], labels: &[u8]) -> u64 {
    pixels
        .iter()
        .chain(labels)
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_boxes_are_150_and_sane() {
        let all = test_set_landmarks();
        assert_eq!(all.len(), 150);
        for (i, l) in all.iter().enumerate() {
            for b in [l.face, l.mouth] {
                assert!(
                    b.x0 < b.x1 && b.y0 < b.y1 && b.x1 <= 64 && b.y1 <= 64,
                    "{i}: {b:?}"
                );
            }
            let (f, m) = (l.face, l.mouth);
            // A pixel of slack: in profile the lips reach past the face oval.
            assert!(
                m.x0 + 1 >= f.x0 && m.x1 <= f.x1 + 1 && m.y0 >= f.y0 && m.y1 <= f.y1 + 1,
                "{i}: mouth {m:?} outside face {f:?}"
            );
            assert!(
                2 * m.y0 >= f.y0 + f.y1,
                "{i}: mouth {m:?} above the middle of {f:?}"
            );
        }
    }

    #[test]
    fn only_the_original_pictures_get_boxes() {
        assert!(known_landmarks(&[1, 2, 3], &[0]).is_none());
        assert_ne!(fingerprint(&[1, 2], &[0]), fingerprint(&[2, 1], &[0]));
    }
}
