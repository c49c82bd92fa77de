//! MP4 boxes for the media tests: just enough container for the probe and the store to read.

/// An ISO base-media box: 32-bit size, type, body.
pub(crate) fn iso_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// The body of a `moov` box: `mvhd` (timescale 600) and one video track with a `tkhd` of
/// `width`×`height`, a `vide` handler and a sample entry of type `codec`.
pub(crate) fn moov(seconds: u32, width: u32, height: u32, codec: &[u8; 4]) -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&600u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&(seconds * 600).to_be_bytes());
    let mut tkhd = vec![0u8; 84];
    tkhd[76..80].copy_from_slice(&(width << 16).to_be_bytes());
    tkhd[80..84].copy_from_slice(&(height << 16).to_be_bytes());
    let mut hdlr = vec![0u8; 24];
    hdlr[8..12].copy_from_slice(b"vide");
    let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
    stsd.extend(iso_box(codec, &[0u8; 78]));
    let stbl = iso_box(b"stbl", &iso_box(b"stsd", &stsd));
    let minf = iso_box(b"minf", &stbl);
    let mut mdia = iso_box(b"hdlr", &hdlr);
    mdia.extend(minf);
    let mut trak = iso_box(b"tkhd", &tkhd);
    trak.extend(iso_box(b"mdia", &mdia));
    let mut body = iso_box(b"mvhd", &mvhd);
    body.extend(iso_box(b"trak", &trak));
    body
}
