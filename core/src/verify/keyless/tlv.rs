//! A minimal DER TLV walker: enough to take the exact signed bytes out of certificates
//! (`tbsCertificate`), rebuild a precertificate TBS for SCTs, and read RFC 3161 tokens, none of
//! which a typed decoder hands back byte for byte.

/// One DER element: its tag byte, the whole encoding, and its contents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub value: &'a [u8],
}

/// A malformed DER element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER")]
pub(crate) struct DerError;

/// Read the first element of `input`; return it and what follows.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError)?;
    if tag & 0x1f == 0x1f {
        return Err(DerError); // multi-byte tags never occur in what we read
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(DerError);
        }
        let mut len = 0usize;
        for &b in &rest[..count] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[count..];
        len
    };
    if rest.len() < len {
        return Err(DerError);
    }
    let header = input.len() - rest.len();
    Ok((
        Tlv {
            tag,
            raw: &input[..header + len],
            value: &rest[..len],
        },
        &rest[len..],
    ))
}

/// All elements of a constructed value's contents, in order.
pub(crate) fn children(mut value: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = read(value)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Encode a DER header for `tag` and a body of `len` bytes.
pub(crate) fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

/// `tag` around `body`.
pub fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = header(tag, body.len());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let long = vec![7u8; 300];
        for body in [&b""[..], b"abc", &long] {
            let encoded = wrap(0x30, body);
            let (tlv, rest) = read(&encoded).unwrap();
            assert!(rest.is_empty());
            assert_eq!(tlv.tag, 0x30);
            assert_eq!(tlv.value, body);
            assert_eq!(tlv.raw, encoded.as_slice());
        }
        assert!(read(&[0x30, 0x05, 1]).is_err());
        assert!(read(&[]).is_err());
        assert_eq!(children(&[2, 1, 5, 2, 1, 6]).unwrap().len(), 2);
    }

    /// Lengths are the input's: one longer than what follows, of more than four bytes, or
    /// indefinite (BER, not DER) is an error, never an out-of-range slice.
    #[test]
    fn lengths_beyond_the_input_are_errors() {
        for bad in [
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0][..],
            &[0x30, 0x85, 1, 0, 0, 0, 0, 0],
            &[0x30, 0x80, 0, 0],
            &[0x30, 0x82, 0x01],
            &[0x30, 0x81],
            &[0x1f, 0x01, 0x00],
        ] {
            assert_eq!(read(bad).map(|_| ()), Err(DerError), "{bad:02x?}");
        }
    }
}
