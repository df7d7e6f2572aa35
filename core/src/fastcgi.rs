//! FastCGI STDOUT records, for streams that write to php-fpm's socket themselves.

const FCGI_VERSION_1: u8 = 1;
const FCGI_END_REQUEST: u8 = 3;
const FCGI_STDOUT: u8 = 6;
const FCGI_REQUEST_COMPLETE: u8 = 0;
const MAX_RECORD: usize = 65535;

/// Appends `content` as FastCGI STDOUT records of request `id`. Empty content appends nothing:
/// an empty STDOUT record would tell the web server that the response has ended.
pub fn push_records(out: &mut Vec<u8>, id: u16, content: &[u8]) {
    for chunk in content.chunks(MAX_RECORD) {
        let [id_hi, id_lo] = id.to_be_bytes();
        let [len_hi, len_lo] = (chunk.len() as u16).to_be_bytes();
        out.extend_from_slice(&[FCGI_VERSION_1, FCGI_STDOUT, id_hi, id_lo, len_hi, len_lo, 0, 0]);
        out.extend_from_slice(chunk);
    }
}

/// Appends the end of a response: an empty STDOUT record (the end of the body) and
/// END_REQUEST (application status 0, request complete). What php-fpm itself writes when a
/// request ends, for a stream that ends after its worker handed it over.
pub fn push_end(out: &mut Vec<u8>, id: u16) {
    let [id_hi, id_lo] = id.to_be_bytes();
    out.extend_from_slice(&[FCGI_VERSION_1, FCGI_STDOUT, id_hi, id_lo, 0, 0, 0, 0]);
    out.extend_from_slice(&[FCGI_VERSION_1, FCGI_END_REQUEST, id_hi, id_lo, 0, 8, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 0, FCGI_REQUEST_COMPLETE, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    use super::{push_end, push_records};

    #[test]
    fn the_end_is_an_empty_stdout_record_then_end_request() {
        let mut out = Vec::new();
        push_end(&mut out, 0x0102);
        assert_eq!(out, [1, 6, 1, 2, 0, 0, 0, 0, 1, 3, 1, 2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn records_carry_the_request_id_and_split_at_65535_bytes() {
        let mut out = Vec::new();
        push_records(&mut out, 0x0102, &[b'x'; 70000]);
        assert_eq!(&out[..8], &[1, 6, 1, 2, 0xff, 0xff, 0, 0]);
        let second = 8 + 65535;
        assert_eq!(&out[second..second + 8], &[1, 6, 1, 2, 0x11, 0x71, 0, 0]);
        assert_eq!(out.len(), 70000 + 16);
    }

    #[test]
    fn nothing_for_empty_content() {
        let mut out = Vec::new();
        push_records(&mut out, 1, b"");
        assert!(out.is_empty());
    }
}
