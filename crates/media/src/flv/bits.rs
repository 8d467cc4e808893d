//! A big-endian bit reader with Exp-Golomb codes, for H.264 parameter sets and the
//! AAC AudioSpecificConfig.

use super::error::FlvError;

/// Reads bits most-significant first. Every read is checked: running off the end is
/// a `Truncated` error naming the structure being read, never a panic.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        BitReader { data, pos: 0, what }
    }

    pub(crate) fn bit(&mut self) -> Result<bool, FlvError> {
        let byte = *self
            .data
            .get(self.pos / 8)
            .ok_or(FlvError::Truncated(self.what))?;
        let bit = byte >> (7 - self.pos % 8) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// `n` bits (at most 32) as an unsigned number.
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32, FlvError> {
        debug_assert!(n <= 32);
        let mut v: u64 = 0;
        for _ in 0..n {
            v = v << 1 | u64::from(self.bit()?);
        }
        Ok(v as u32)
    }

    /// ue(v): an unsigned Exp-Golomb code. Codes longer than 32 bits cannot be a valid
    /// field of the structures read here and are refused.
    pub(crate) fn ue(&mut self) -> Result<u32, FlvError> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(FlvError::Invalid(self.what));
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }

    /// se(v): a signed Exp-Golomb code (1, −1, 2, −2, … for 1, 2, 3, 4, …).
    pub(crate) fn se(&mut self) -> Result<i32, FlvError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_decode() {
        // 1 | 010 | 011 | 00100 | 00101 → ue 0, 1, 2, 3, 4
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data, "test");
        let got: Vec<u32> = (0..5).map(|_| r.ue().unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        // se: 1 → 0, 010 → 1, 011 → −1, 00100 → 2, 00101 → −2
        let mut r = BitReader::new(&data, "test");
        let got: Vec<i32> = (0..5).map(|_| r.se().unwrap()).collect();
        assert_eq!(got, vec![0, 1, -1, 2, -2]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xFF], "thing");
        assert_eq!(r.bits(8), Ok(0xFF));
        assert_eq!(r.bit(), Err(FlvError::Truncated("thing")));
        let mut r = BitReader::new(&[0x00], "thing");
        assert_eq!(r.ue(), Err(FlvError::Truncated("thing")));
    }

    #[test]
    fn overlong_exp_golomb_is_invalid() {
        let mut r = BitReader::new(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "thing");
        assert_eq!(r.ue(), Err(FlvError::Invalid("thing")));
    }

    #[test]
    fn largest_exp_golomb_fits() {
        // 31 zeros, a one, then 31 ones: 2^32 − 2.
        let data = [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE];
        let mut r = BitReader::new(&data, "thing");
        assert_eq!(r.ue(), Ok(u32::MAX - 1));
    }
}
