//! Document carriers: PDF (Info `/AIGC`, incremental update), OOXML (`docProps/custom.xml`)
//! and Markdown (YAML front matter).
//!
//! Inputs are made at test time with real tools (Ghostscript, qpdf, ExifTool, Python's
//! `zipfile`) or built from bytes for the traps; outputs are cross-checked with ExifTool,
//! qpdf, poppler (`pdfinfo`/`pdftotext`), Python's `zipfile` and PyYAML. A missing tool fails
//! the test with the Debian package to install.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label::error::CodecError;
use aigc_label::implicit::{embed_path, read_path, EmbedOptions, ReadReport, Verdict};
use aigc_label::io::Overwrite;
use aigc_label::{ProblemCode, Profile};

use crate::common;
use common::{embed, read};

const PRODUCER: &str = "001191110102MACQD9K64010000";

/// A compact Annex E label in Annex order (what `aigc-label embed` writes).
fn label_json(label: &str, produce_id: &str) -> String {
    format!(
        r#"{{"Label":"{label}","ContentProducer":"{PRODUCER}","ProduceID":"{produce_id}","ReservedCode1":"","ContentPropagator":"{PRODUCER}","PropagateID":"{produce_id}","ReservedCode2":""}}"#
    )
}

fn need(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is required by this test: install the Debian package `{package}`"
    );
}

/// Run a command, assert success, return stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_err(path: &Path) -> CodecError {
    match read_path(path, &Profile::builtin()) {
        Ok(r) => panic!("expected an error for {}, got {r:?}", path.display()),
        Err(e) => e.error,
    }
}

fn codes(report: &ReadReport, i: usize) -> Vec<ProblemCode> {
    report.labels[i].problems.iter().map(|p| p.code).collect()
}

/// Exactly one label, valid, with this raw value and carrier.
fn assert_one_label(report: &ReadReport, carrier: &str, json: &str) {
    assert_eq!(report.labels.len(), 1, "{report:#?}");
    assert_eq!(report.labels[0].carrier, carrier);
    assert_eq!(report.labels[0].raw, json);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

// =============================================================================================
// PDF

/// ExifTool config declaring the PDF Info tag AIGC and the TC260 XMP namespace.
const EXIFTOOL_CONFIG: &str = r#"%Image::ExifTool::UserDefined = (
  'Image::ExifTool::PDF::Info' => { AIGC => { } },
  'Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } },
);
%Image::ExifTool::UserDefined::TC260 = (
  GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' },
  NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' },
  WRITABLE => 'string',
  AIGC => { },
);
1;
"#;

fn exiftool_config(dir: &Path) -> PathBuf {
    let p = dir.join("tc260.config");
    std::fs::write(&p, EXIFTOOL_CONFIG).unwrap();
    p
}

/// A one-page PDF written by Ghostscript's pdfwrite (classic xref table, Info, XMP metadata).
fn gs_pdf(dir: &Path) -> PathBuf {
    need("gs", "ghostscript");
    let p = dir.join("gs.pdf");
    run(Command::new("gs")
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", "-o"])
        .arg(&p)
        .args([
            "-c",
            "/Helvetica findfont 24 scalefont setfont 72 720 moveto (Hello AIGC document) show showpage",
        ]));
    p
}

fn exif_pdf_aigc(path: &Path, config: &Path) -> String {
    need("exiftool", "libimage-exiftool-perl");
    run(Command::new("exiftool")
        .arg("-config")
        .arg(config)
        .args(["-s3", "-PDF:AIGC"])
        .arg(path))
    .trim_end_matches('\n')
    .to_string()
}

fn qpdf_check(path: &Path) {
    need("qpdf", "qpdf");
    let out = run(Command::new("qpdf").arg("--check").arg(path));
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

fn pdftotext(path: &Path) -> String {
    need("pdftotext", "poppler-utils");
    run(Command::new("pdftotext").arg(path).arg("-"))
}

fn pdfinfo_producer(path: &Path) -> String {
    need("pdfinfo", "poppler-utils");
    run(Command::new("pdfinfo").arg(path))
        .lines()
        .find(|l| l.starts_with("Producer:"))
        .unwrap_or("")
        .to_string()
}

fn assert_prefix(original: &Path, updated: &Path) {
    let a = std::fs::read(original).unwrap();
    let b = std::fs::read(updated).unwrap();
    assert!(
        b.len() > a.len() && b[..a.len()] == a[..],
        "{} is not a byte prefix of {}",
        original.display(),
        updated.display()
    );
}

/// Embed twice and check everything after each step.
fn pdf_round_trip(dir: &Path, input: &Path) {
    let config = exiftool_config(dir);
    let text = pdftotext(input);
    let producer = pdfinfo_producer(input);
    let mut previous = input.to_path_buf();
    for (i, label) in ["1", "3"].iter().enumerate() {
        let json = label_json(label, &format!("pdf-{i}"));
        let out = dir.join(format!("out{i}.pdf"));
        embed(&previous, &out, &json);
        assert_one_label(&read(&out), "pdf/Info/AIGC", &json);
        assert_eq!(exif_pdf_aigc(&out, &config), json);
        qpdf_check(&out);
        assert_eq!(pdftotext(&out), text, "page text changed");
        assert_eq!(pdfinfo_producer(&out), producer, "Info entries not kept");
        assert_prefix(&previous, &out);
        previous = out;
    }
}

#[test]
fn pdf_round_trip_classic_xref_table() {
    let dir = tmp();
    let input = gs_pdf(dir.path());
    let bytes = std::fs::read(&input).unwrap();
    assert!(
        bytes.windows(7).any(|w| w == b"trailer"),
        "gs wrote no classic trailer"
    );
    pdf_round_trip(dir.path(), &input);
    // The update is a classic section with /Prev.
    let out = std::fs::read(dir.path().join("out0.pdf")).unwrap();
    let tail = String::from_utf8_lossy(&out[bytes.len()..]);
    assert!(
        tail.contains("\nxref\n") && tail.contains("/Prev"),
        "{tail}"
    );
}

#[test]
fn pdf_round_trip_xref_stream_and_object_streams() {
    let dir = tmp();
    let gs = gs_pdf(dir.path());
    let input = dir.path().join("objstm.pdf");
    need("qpdf", "qpdf");
    run(Command::new("qpdf")
        .arg("--object-streams=generate")
        .arg(&gs)
        .arg(&input));
    // qpdf puts the Info dictionary into an object stream: check that this test covers it.
    let trailer = run(Command::new("qpdf")
        .arg("--show-object=trailer")
        .arg(&input));
    let info_num: String = trailer
        .split("/Info ")
        .nth(1)
        .expect("trailer has /Info")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let xref = run(Command::new("qpdf").arg("--show-xref").arg(&input));
    assert!(
        xref.lines()
            .any(|l| l.starts_with(&format!("{info_num}/0: compressed"))),
        "Info is not in an object stream:\n{xref}"
    );
    pdf_round_trip(dir.path(), &input);
    let before = std::fs::read(&input).unwrap();
    let out = std::fs::read(dir.path().join("out0.pdf")).unwrap();
    let tail = String::from_utf8_lossy(&out[before.len()..]);
    assert!(
        tail.contains("/Type /XRef") && tail.contains("/Prev"),
        "{tail}"
    );
}

#[test]
fn pdf_interop_exiftool_info_and_xmp() {
    let dir = tmp();
    let config = exiftool_config(dir.path());
    let gs = gs_pdf(dir.path());
    let json = label_json("2", "exiftool-info");

    // ExifTool writing the Info key (an incremental update of its own).
    let info = dir.path().join("info.pdf");
    run(Command::new("exiftool")
        .arg("-config")
        .arg(&config)
        .arg(format!("-PDF:AIGC={json}"))
        .arg("-o")
        .arg(&info)
        .arg(&gs));
    let report = read(&info);
    assert_one_label(&report, "pdf/Info/AIGC", &json);
    assert!(report.labels[0].problems.is_empty(), "{report:#?}");

    // XMP only: read as a non-standard carrier; embedding moves the label to Info and removes
    // the XMP property (one label per file).
    let xmp_only = dir.path().join("xmp.pdf");
    run(Command::new("exiftool")
        .arg("-config")
        .arg(&config)
        .arg(format!("-XMP-TC260:AIGC={json}"))
        .arg("-o")
        .arg(&xmp_only)
        .arg(&gs));
    let report = read(&xmp_only);
    assert_eq!(report.labels.len(), 1, "{report:#?}");
    assert_eq!(report.labels[0].carrier, "pdf/Metadata/XMP");
    assert_eq!(report.labels[0].raw, json);
    assert!(codes(&report, 0).contains(&ProblemCode::NonstandardCarrier));

    let out = dir.path().join("moved.pdf");
    let json2 = label_json("1", "moved");
    embed(&xmp_only, &out, &json2);
    assert_one_label(&read(&out), "pdf/Info/AIGC", &json2);
    assert_eq!(exif_pdf_aigc(&out, &config), json2);
    let xmp_left = run(Command::new("exiftool")
        .arg("-config")
        .arg(&config)
        .args(["-s3", "-XMP-TC260:AIGC"])
        .arg(&out));
    assert_eq!(xmp_left.trim(), "", "the XMP copy was not removed");
    qpdf_check(&out);
    assert_prefix(&xmp_only, &out);
}

/// A PDF built by hand from object bodies (numbered from 1) and the trailer's extra entries.
/// Returns the bytes and the offset of the xref table.
fn build_pdf(objects: &[Vec<u8>], trailer: &str) -> (Vec<u8>, usize) {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {trailer} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    (out, xref)
}

fn page_objects(catalog_extra: &str) -> Vec<Vec<u8>> {
    vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>").into_bytes(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>".to_vec(),
    ]
}

/// A small valid PDF built by hand: catalog, pages, page, and an Info dictionary (object 4)
/// with `info` as its entries.
fn hand_pdf(info: &str) -> (Vec<u8>, usize) {
    let mut objects = page_objects("");
    objects.push(format!("<< {info} >>").into_bytes());
    build_pdf(&objects, "/Info 4 0 R")
}

fn utf16_hex(text: &str) -> String {
    let mut s = String::from("<FEFF");
    for u in text.encode_utf16() {
        s.push_str(&format!("{u:04X}"));
    }
    s.push('>');
    s
}

#[test]
fn pdf_text_string_encodings() {
    let dir = tmp();
    let config = exiftool_config(dir.path());
    // UTF-16BE hex string with a non-ASCII ProduceID (as pypdf writes non-Latin-1 text).
    let json = label_json("1", "编号-7");
    let p = dir.path().join("hex.pdf");
    std::fs::write(
        &p,
        hand_pdf(&format!("/Producer (hand) /AIGC {}", utf16_hex(&json))).0,
    )
    .unwrap();
    qpdf_check(&p);
    let report = read(&p);
    assert_eq!(report.labels.len(), 1);
    assert_eq!(report.labels[0].raw, json);
    assert_eq!(exif_pdf_aigc(&p, &config), json);

    // Literal string with escapes and octal codes: \( \) \\ \n and \042 for a quote.
    let p = dir.path().join("lit.pdf");
    let lit = r#"(\{\042Label\042:\0421\042,"ContentProducer":"a\(b\)c\\d"\})"#;
    std::fs::write(&p, hand_pdf(&format!("/AIGC {lit}")).0).unwrap();
    let report = read(&p);
    assert_eq!(
        report.labels[0].raw,
        r#"{"Label":"1","ContentProducer":"a(b)c\d"}"#
    );
    assert_eq!(exif_pdf_aigc(&p, &config), report.labels[0].raw);

    // The string as an indirect object; and a value that is not a string at all.
    let p = dir.path().join("indirect.pdf");
    let mut objects = page_objects("");
    objects.push(b"<< /AIGC 5 0 R >>".to_vec());
    let ascii = label_json("1", "indirect");
    objects.push(format!("({ascii})").into_bytes());
    std::fs::write(&p, build_pdf(&objects, "/Info 4 0 R").0).unwrap();
    assert_one_label(&read(&p), "pdf/Info/AIGC", &ascii);

    // Raw UTF-8 in a literal string (no BOM): decoded as PDFDocEncoding, as ExifTool and
    // poppler do, and noted.
    let p = dir.path().join("utf8.pdf");
    let mut objects = page_objects("");
    objects.push(format!("<< /AIGC ({json}) >>").into_bytes());
    std::fs::write(&p, build_pdf(&objects, "/Info 4 0 R").0).unwrap();
    let report = read(&p);
    assert_eq!(report.labels[0].raw, exif_pdf_aigc(&p, &config));
    assert_ne!(report.labels[0].raw, json);
    assert!(report.labels[0]
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::NonstandardCarrier && p.message.contains("UTF-8")));
    let p = dir.path().join("number.pdf");
    std::fs::write(&p, hand_pdf("/AIGC [1 2]").0).unwrap();
    let report = read(&p);
    assert_eq!(report.labels[0].raw, "[1 2]");
    assert!(codes(&report, 0).contains(&ProblemCode::NonstandardCarrier));
    assert_eq!(report.verdict, Verdict::Invalid);

    // Writing non-ASCII text uses <FEFF...>; ExifTool reads the exact value back; a key in
    // another case (`/aigc`) is noted and replaced.
    let p = dir.path().join("case.pdf");
    std::fs::write(&p, hand_pdf("/Title (T) /aigc (x)").0).unwrap();
    let report = read(&p);
    assert_eq!(report.labels[0].carrier, "pdf/Info/aigc");
    assert!(codes(&report, 0).contains(&ProblemCode::KeyCase));
    let out = dir.path().join("case-out.pdf");
    embed(&p, &out, &json);
    assert_one_label(&read(&out), "pdf/Info/AIGC", &json);
    assert_eq!(exif_pdf_aigc(&out, &config), json);
    let tail = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&tail).contains("/Title (T) /AIGC <FEFF"));
    qpdf_check(&out);
}

#[test]
fn pdf_without_info_and_with_compressed_xmp() {
    let dir = tmp();
    let config = exiftool_config(dir.path());
    let json = label_json("1", "no-info");

    // No /Info at all: a new Info object is added with the next free number.
    let p = dir.path().join("noinfo.pdf");
    std::fs::write(&p, build_pdf(&page_objects(""), "").0).unwrap();
    assert!(read(&p).labels.is_empty());
    let out = dir.path().join("noinfo-out.pdf");
    embed(&p, &out, &json);
    assert_one_label(&read(&out), "pdf/Info/AIGC", &json);
    assert_eq!(exif_pdf_aigc(&out, &config), json);
    qpdf_check(&out);
    assert!(
        String::from_utf8_lossy(&std::fs::read(&out).unwrap()).contains("\n4 0 obj\n<< /AIGC (")
    );

    // A FlateDecode XMP /Metadata stream holding the same label as the Info key: two copies
    // (6.1 c duplicate); embedding leaves one, in Info, and an uncompressed XMP without it.
    let packet = format!(
        "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\"><dc:format>application/pdf</dc:format><TC260:AIGC>{}</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>",
        json.replace('"', "&quot;")
    );
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(packet.as_bytes()).unwrap();
    let data = z.finish().unwrap();
    let mut objects = page_objects("/Metadata 5 0 R");
    objects.push(format!("<< /Producer (hand) /AIGC ({json}) >>").into_bytes());
    let mut stream = format!(
        "<< /Type /Metadata /Subtype /XML /Filter /FlateDecode /Length {} >>\nstream\n",
        data.len()
    )
    .into_bytes();
    stream.extend_from_slice(&data);
    stream.extend_from_slice(b"\nendstream");
    objects.push(stream);
    let p = dir.path().join("dup.pdf");
    std::fs::write(&p, build_pdf(&objects, "/Info 4 0 R").0).unwrap();
    qpdf_check(&p);
    let report = read(&p);
    assert_eq!(report.labels.len(), 2, "{report:#?}");
    assert_eq!(report.labels[0].carrier, "pdf/Info/AIGC");
    assert_eq!(report.labels[1].carrier, "pdf/Metadata/XMP");
    assert!(report
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::DuplicateLabel));
    let out = dir.path().join("dup-out.pdf");
    let json2 = label_json("2", "one-left");
    embed(&p, &out, &json2);
    assert_one_label(&read(&out), "pdf/Info/AIGC", &json2);
    qpdf_check(&out);
    assert_prefix(&p, &out);
    let dump = run(Command::new("exiftool")
        .arg("-config")
        .arg(&config)
        .args(["-s3", "-XMP-dc:Format", "-XMP-TC260:AIGC", "-PDF:Producer"])
        .arg(&out));
    assert_eq!(
        dump, "application/pdf\nhand\n",
        "XMP kept without the label, Info kept"
    );
}

/// A hybrid-reference file (PDF 1.5 §7.5.8.4): a classic table whose trailer has /XRefStm
/// pointing to an xref stream that lists the Info dictionary inside an object stream.
#[test]
fn pdf_hybrid_reference_file() {
    let dir = tmp();
    let config = exiftool_config(dir.path());
    let json = label_json("1", "hybrid");
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for body in page_objects("") {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\nendobj\n");
    }
    // 5: object stream holding object 4 (the Info dictionary).
    let inner = format!("<< /Producer (hybrid) /AIGC ({json}) >>");
    let header = "4 0 ";
    let objstm_at = out.len();
    out.extend_from_slice(
        format!(
            "5 0 obj\n<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n{header}{inner}\nendstream\nendobj\n",
            header.len(),
            header.len() + inner.len()
        )
        .as_bytes(),
    );
    // 6: xref stream for the compressed object only.
    let xrefstm_at = out.len();
    out.extend_from_slice(b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 2 1] /Index [4 1] /Length 4 >>\nstream\n\x02\x00\x05\x00\nendstream\nendobj\n");
    let xref_at = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("5 2\n{objstm_at:010} 00000 n \n{xrefstm_at:010} 00000 n \n").as_bytes(),
    );
    out.extend_from_slice(
        format!("trailer\n<< /Size 7 /Root 1 0 R /Info 4 0 R /XRefStm {xrefstm_at} >>\nstartxref\n{xref_at}\n%%EOF\n")
            .as_bytes(),
    );
    let p = dir.path().join("hybrid.pdf");
    std::fs::write(&p, &out).unwrap();
    qpdf_check(&p);
    assert_one_label(&read(&p), "pdf/Info/AIGC", &json);

    let json2 = label_json("2", "hybrid-2");
    let o = dir.path().join("hybrid-out.pdf");
    embed(&p, &o, &json2);
    assert_one_label(&read(&o), "pdf/Info/AIGC", &json2);
    qpdf_check(&o);
    assert_prefix(&p, &o);
    assert_eq!(exif_pdf_aigc(&o, &config), json2);
    assert_eq!(pdfinfo_producer(&o), "Producer:        hybrid");
}

#[test]
fn pdf_encrypted_is_unsupported() {
    let dir = tmp();
    let gs = gs_pdf(dir.path());
    let enc = dir.path().join("enc.pdf");
    need("qpdf", "qpdf");
    run(Command::new("qpdf")
        .args(["--encrypt", "user", "owner", "256", "--"])
        .arg(&gs)
        .arg(&enc));
    match read_err(&enc) {
        CodecError::Unsupported(m) => assert!(m.contains("encrypted"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pdf_robustness() {
    let dir = tmp();
    let (pdf, xref) = hand_pdf("/AIGC (x)");

    // Truncated: no startxref at the end.
    let p = dir.path().join("trunc.pdf");
    std::fs::write(&p, &pdf[..pdf.len() / 2]).unwrap();
    let e = read_err(&p).to_string();
    assert!(e.contains("startxref"), "{e}");

    // Truncated inside the xref table.
    let p = dir.path().join("trunc2.pdf");
    let mut cut = pdf[..xref + 30].to_vec();
    cut.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    std::fs::write(&p, &cut).unwrap();
    assert!(matches!(read_err(&p), CodecError::Corrupt { .. }));

    // startxref past the end of the file.
    let p = dir.path().join("past.pdf");
    let text =
        String::from_utf8_lossy(&pdf).replace(&format!("startxref\n{xref}"), "startxref\n99999999");
    std::fs::write(&p, text.as_bytes()).unwrap();
    let e = read_err(&p).to_string();
    assert!(e.contains("past the end"), "{e}");

    // An update section whose /Prev points to itself.
    let p = dir.path().join("loop.pdf");
    let mut looped = pdf.clone();
    let at = looped.len();
    looped.extend_from_slice(
        format!("xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 5 /Root 1 0 R /Prev {at} >>\nstartxref\n{at}\n%%EOF\n")
            .as_bytes(),
    );
    std::fs::write(&p, &looped).unwrap();
    let e = read_err(&p);
    assert!(
        matches!(&e, CodecError::Corrupt { offset, what } if *offset == at as u64 && what.contains("loops")),
        "{e}"
    );

    // Absurd nesting in the Info dictionary.
    let p = dir.path().join("deep.pdf");
    std::fs::write(&p, hand_pdf(&format!("/AIGC {}", "[".repeat(5000))).0).unwrap();
    assert!(matches!(read_err(&p), CodecError::Corrupt { .. }));

    // An xref stream whose FlateDecode data inflates past the limit (a bomb).
    let p = dir.path().join("bomb.pdf");
    let mut bomb = b"%PDF-1.5\n".to_vec();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 17 * 1024 * 1024]).unwrap();
    let data = z.finish().unwrap();
    let at = bomb.len();
    bomb.extend_from_slice(
        format!(
            "1 0 obj\n<< /Type /XRef /W [1 4 2] /Size 2 /Filter /FlateDecode /Length {} >>\nstream\n",
            data.len()
        )
        .as_bytes(),
    );
    bomb.extend_from_slice(&data);
    bomb.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{at}\n%%EOF\n").as_bytes());
    std::fs::write(&p, &bomb).unwrap();
    assert!(
        matches!(read_err(&p), CodecError::Limit { .. }),
        "{}",
        read_err(&p)
    );

    // Absurd subsection numbers in a classic table and an absurd /Index in an xref stream.
    let p = dir.path().join("huge.pdf");
    let text =
        String::from_utf8_lossy(&pdf).replace("xref\n0 5\n", "xref\n18446744073709551610 5\n");
    std::fs::write(&p, text.as_bytes()).unwrap();
    assert!(matches!(
        read_err(&p),
        CodecError::Corrupt { .. } | CodecError::Limit { .. }
    ));
    let p = dir.path().join("index.pdf");
    let mut xs = b"%PDF-1.5\n".to_vec();
    let at = xs.len();
    xs.extend_from_slice(b"1 0 obj\n<< /Type /XRef /W [1 4 2] /Size 2 /Index [9223372036854775807 9223372036854775807 0 9223372036854775807] /Root 1 0 R /Length 7 >>\nstream\n\x01\x00\x00\x00\x09\x00\x00\nendstream\nendobj\n");
    xs.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
    std::fs::write(&p, &xs).unwrap();
    let _ = read_path(&p, &Profile::builtin()); // any result, no panic

    // Garbage after the header.
    let p = dir.path().join("garbage.pdf");
    std::fs::write(&p, b"%PDF-1.7\n\x00\xff garbage garbage").unwrap();
    assert!(matches!(read_err(&p), CodecError::Corrupt { .. }));
}

// =============================================================================================
// OOXML

const CT_DOCX: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>CUSTOM_CT</Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>CUSTOM_REL</Relationships>"#;
const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello AIGC document</w:t></w:r></w:p></w:body></w:document>"#;
const CORE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Test</dc:title><dc:creator>documents.rs</dc:creator></cp:coreProperties>"#;

/// A minimal DOCX written by Python's zipfile (deflate), optionally with a custom.xml.
fn make_docx(dir: &Path, name: &str, custom: Option<&str>) -> PathBuf {
    need("python3", "python3");
    let (ct, rel) = match custom {
        Some(_) => (
            r#"<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>"#,
            r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>"#,
        ),
        None => ("", ""),
    };
    let parts_dir = dir.join(format!("{name}.parts"));
    std::fs::create_dir_all(&parts_dir).unwrap();
    let mut parts: Vec<(&str, String)> = vec![
        ("[Content_Types].xml", CT_DOCX.replace("CUSTOM_CT", ct)),
        ("_rels/.rels", RELS.replace("CUSTOM_REL", rel)),
        ("word/document.xml", DOCUMENT.to_string()),
        ("docProps/core.xml", CORE.to_string()),
    ];
    if let Some(c) = custom {
        parts.push(("docProps/custom.xml", c.to_string()));
    }
    let mut script = String::from(
        "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\n",
    );
    for (i, (part, text)) in parts.iter().enumerate() {
        let f = parts_dir.join(format!("{i}"));
        std::fs::write(&f, text).unwrap();
        script.push_str(&format!(
            "z.write({:?},{:?})\n",
            f.display().to_string(),
            part
        ));
    }
    script.push_str("z.close()\n");
    let out = dir.join(name);
    run(Command::new("python3").arg("-c").arg(&script).arg(&out));
    out
}

/// Per entry: (name, CRC, compressed size, uncompressed size), from Python's zipfile, after
/// `testzip()` found no bad entry.
fn zip_listing(path: &Path) -> Vec<(String, u64, u64, u64)> {
    let out = run(Command::new("python3").arg("-c").arg(
        "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, i.CRC, i.compress_size, i.file_size)",
    ).arg(path));
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

fn zip_part(path: &Path, name: &str) -> String {
    run(Command::new("python3")
        .arg("-c")
        .arg("import zipfile,sys\nsys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())")
        .arg(path)
        .arg(name))
}

/// Every AIGC custom property value, read namespace-aware with Python's ElementTree.
fn etree_aigc(path: &Path) -> Vec<String> {
    let script = r#"import sys,zipfile,json
import xml.etree.ElementTree as ET
C='{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}'
root=ET.fromstring(zipfile.ZipFile(sys.argv[1]).read('docProps/custom.xml'))
print(json.dumps([p[0].text for p in root.iter(C+'property') if p.get('name')=='AIGC']))"#;
    let out = run(Command::new("python3").arg("-c").arg(script).arg(path));
    serde_json::from_str(&out).unwrap()
}

fn exif_xml_aigc(path: &Path) -> String {
    need("exiftool", "libimage-exiftool-perl");
    run(Command::new("exiftool")
        .args(["-s3", "-XML:AIGC"])
        .arg(path))
    .trim_end_matches('\n')
    .to_string()
}

#[test]
fn docx_round_trip_creates_custom_part() {
    let dir = tmp();
    let input = make_docx(dir.path(), "plain.docx", None);
    assert!(read(&input).labels.is_empty());
    let before = zip_listing(&input);
    let mut previous = input.clone();
    for (i, label) in ["1", "2"].iter().enumerate() {
        let json = label_json(label, &format!("docx-{i}"));
        let out = dir.path().join(format!("out{i}.docx"));
        embed(&previous, &out, &json);
        assert_one_label(&read(&out), "ooxml/docProps/custom.xml/AIGC", &json);
        assert_eq!(exif_xml_aigc(&out), json);
        assert_eq!(etree_aigc(&out), vec![json.clone()]);
        let after = zip_listing(&out);
        // Every original entry is kept raw (same CRC and compressed size), in order, except
        // the two package parts that register custom.xml.
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(a.0, b.0);
            if b.0 != "[Content_Types].xml" && b.0 != "_rels/.rels" {
                assert_eq!(a, b, "entry {} changed", b.0);
            }
        }
        assert_eq!(after.len(), before.len() + 1);
        assert_eq!(after.last().unwrap().0, "docProps/custom.xml");
        let ct = zip_part(&out, "[Content_Types].xml");
        assert_eq!(ct.matches("/docProps/custom.xml").count(), 1, "{ct}");
        let rels = zip_part(&out, "_rels/.rels");
        assert_eq!(
            rels.matches("relationships/custom-properties").count(),
            1,
            "{rels}"
        );
        assert!(rels.contains(r#"Id="rId3""#), "{rels}");
        let custom = zip_part(&out, "docProps/custom.xml");
        assert_eq!(custom.matches("name=\"AIGC\"").count(), 1);
        assert!(custom.contains(r#"fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2""#));
        previous = out;
    }
}

/// custom.xml as the Python OOXML labeller (implementations-in-the-wild #30) writes it: an
/// existing property keeps pid 2, AIGC takes the first free pid, compact JSON, `vt:lpwstr`.
fn python_labeller_custom(json: &str) -> String {
    format!(
        r#"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="Department"><vt:lpwstr>R&amp;D</vt:lpwstr></property><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="3" name="AIGC"><vt:lpwstr>{}</vt:lpwstr></property></Properties>"#,
        json.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    )
}

#[test]
fn docx_interop_python_labeller_and_update_in_place() {
    let dir = tmp();
    let json = label_json("1", "py-labeller");
    let input = make_docx(dir.path(), "py.docx", Some(&python_labeller_custom(&json)));
    let report = read(&input);
    assert_one_label(&report, "ooxml/docProps/custom.xml/AIGC", &json);
    assert!(report.labels[0].problems.is_empty(), "{report:#?}");
    assert_eq!(exif_xml_aigc(&input), json);

    let json2 = label_json("3", "updated");
    let out = dir.path().join("py-out.docx");
    embed(&input, &out, &json2);
    assert_one_label(&read(&out), "ooxml/docProps/custom.xml/AIGC", &json2);
    assert_eq!(exif_xml_aigc(&out), json2);
    let custom = zip_part(&out, "docProps/custom.xml");
    // The other property and the AIGC pid are kept; the package parts are untouched.
    assert!(custom.contains(r#"pid="2" name="Department"><vt:lpwstr>R&amp;D</vt:lpwstr>"#));
    assert!(custom.contains(r#"pid="3" name="AIGC""#), "{custom}");
    let before = zip_listing(&input);
    let after = zip_listing(&out);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.0 != "docProps/custom.xml" {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn docx_nonstandard_property_forms_are_noted_and_replaced() {
    let dir = tmp();
    let json = label_json("1", "x");
    let esc = json.replace('"', "&quot;");
    let custom = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<op:Properties xmlns:op="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:t="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><op:property fmtid="{{00000000-0000-0000-0000-000000000000}}" pid="5" name="aigc"><t:lpstr>{esc}</t:lpstr></op:property><op:property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="6" name="AIGC"><t:lpwstr>{esc}</t:lpwstr></op:property></op:Properties>"#
    );
    let input = make_docx(dir.path(), "odd.docx", Some(&custom));
    let report = read(&input);
    assert_eq!(report.labels.len(), 2);
    let first = codes(&report, 0);
    assert!(first.contains(&ProblemCode::KeyCase), "{first:?}");
    assert_eq!(
        first
            .iter()
            .filter(|c| **c == ProblemCode::NonstandardCarrier)
            .count(),
        2,
        "fmtid and vt:lpstr: {report:#?}"
    );
    assert!(codes(&report, 1).is_empty());
    assert!(report
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::DuplicateLabel));

    let out = dir.path().join("odd-out.docx");
    let json2 = label_json("2", "y");
    embed(&input, &out, &json2);
    assert_one_label(&read(&out), "ooxml/docProps/custom.xml/AIGC", &json2);
    let custom = zip_part(&out, "docProps/custom.xml");
    assert!(
        custom.contains("<op:property fmtid=") && custom.contains("<t:lpwstr>"),
        "the document's prefixes are reused: {custom}"
    );
    // ExifTool 12.57 matches custom properties by prefix (`property`, `vt:`), so the check is
    // a namespace-aware reader: Python's ElementTree.
    assert_eq!(etree_aigc(&out), vec![json2]);
}

#[test]
fn ooxml_robustness() {
    let dir = tmp();
    // A custom.xml that inflates beyond the limit (17 MiB of spaces in an XML comment).
    let script = r#"import zipfile,sys
z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)
z.writestr('[Content_Types].xml','<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
z.writestr('docProps/custom.xml','<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"><!--'+' '*(17*1024*1024)+'--></Properties>')
z.close()"#;
    let bomb = dir.path().join("bomb.docx");
    need("python3", "python3");
    run(Command::new("python3").arg("-c").arg(script).arg(&bomb));
    let e = read_err(&bomb);
    assert!(matches!(e, CodecError::Limit { .. }), "{e}");

    // The same bomb with its declared sizes patched down to 100 bytes: the actual inflated
    // size is checked too.
    let mut bytes = std::fs::read(&bomb).unwrap();
    let size = zip_listing(&bomb)
        .into_iter()
        .find(|e| e.0 == "docProps/custom.xml")
        .unwrap()
        .3 as u32;
    let big = size.to_le_bytes();
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(4) {
        if bytes[i..i + 4] == big {
            bytes[i..i + 4].copy_from_slice(&100u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "local and central sizes");
    let liar = dir.path().join("liar.docx");
    std::fs::write(&liar, &bytes).unwrap();
    let e = read_err(&liar);
    assert!(
        matches!(e, CodecError::Limit { .. } | CodecError::Corrupt { .. }),
        "{e}"
    );

    // Truncated archive (no end-of-central-directory record).
    let input = make_docx(dir.path(), "t.docx", None);
    let bytes = std::fs::read(&input).unwrap();
    let cut = dir.path().join("cut.docx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_err(&cut).to_string();
    assert!(e.contains("end-of-central-directory"), "{e}");

    // A custom.xml that is present but not registered gets registered on write.
    let json = label_json("1", "unregistered");
    let odd = make_docx(
        dir.path(),
        "unreg.docx",
        Some(&python_labeller_custom(&label_json("2", "old"))),
    );
    // Drop the registration: rewrite the two package parts without it.
    let script = r#"import zipfile,sys
src=zipfile.ZipFile(sys.argv[1]); dst=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)
for i in src.infolist():
    d=src.read(i.filename).decode()
    d=d.replace('<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>','')
    d=d.replace('<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>','')
    dst.writestr(i.filename,d)
dst.close()"#;
    let unreg = dir.path().join("unreg2.docx");
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&odd)
        .arg(&unreg));
    assert_eq!(read(&unreg).labels.len(), 1);
    let out = dir.path().join("unreg-out.docx");
    embed(&unreg, &out, &json);
    assert_one_label(&read(&out), "ooxml/docProps/custom.xml/AIGC", &json);
    assert!(zip_part(&out, "[Content_Types].xml").contains("/docProps/custom.xml"));
    assert!(zip_part(&out, "_rels/.rels").contains("custom-properties"));
    assert_eq!(exif_xml_aigc(&out), json);

    // Broken custom.xml.
    let broken = make_docx(
        dir.path(),
        "broken.docx",
        Some("<Properties><property></Properties>"),
    );
    assert!(matches!(read_err(&broken), CodecError::Corrupt { .. }));
}

// =============================================================================================
// Markdown

/// The front matter of a Markdown file as Python's PyYAML sees it, as JSON.
fn pyyaml_front_matter(path: &Path) -> serde_json::Value {
    need("python3", "python3");
    let script = r#"import sys,json,yaml
t=open(sys.argv[1],encoding='utf-8-sig').read().replace('\r\n','\n')
assert t.startswith('---\n')
fm=t[4:].split('\n---\n',1)[0]
print(json.dumps(yaml.safe_load(fm), default=str))"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyYAML: {} (install the Debian package python3-yaml)",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn markdown_round_trips() {
    let dir = tmp();
    let body = "# Title\n\nSome *text*.\n\n---\n\nAfter a rule.\n";
    let cases: Vec<(&str, String)> = vec![
        ("none.md", body.to_string()),
        ("bom.md", format!("\u{feff}{body}")),
        ("fm.md", format!("---\ntitle: \"Hi\"\ntags: [a, b]\n---\n{body}")),
        (
            "crlf.md",
            "---\r\ntitle: x\r\nAIGC:\r\n    Label: \"1\"\r\n    ContentProducer: old\r\n\r\n    ProduceID: abc\r\nlayout: post\r\n---\r\nbody\r\n"
                .to_string(),
        ),
        (
            "json-string.md",
            format!("---\nAIGC: '{}'\ndate: 2025-09-01\n---\n{body}", label_json("1", "s")),
        ),
    ];
    for (name, text) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, &text).unwrap();
        let mut previous = input.clone();
        for (i, label) in ["1", "2"].iter().enumerate() {
            let json = label_json(label, &format!("md-{i}"));
            let out = dir.path().join(format!("{i}-{name}"));
            embed(&previous, &out, &json);
            assert_one_label(&read(&out), "markdown/front-matter/AIGC", &json);
            // PyYAML sees the same seven strings.
            let yaml = pyyaml_front_matter(&out);
            let expected: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(yaml["AIGC"], expected, "{name}");
            // Body and every other front-matter line unchanged.
            let out_text = std::fs::read_to_string(&out).unwrap();
            let original_body = text
                .split_once("\n---\n")
                .or_else(|| text.split_once("\r\n---\r\n"))
                .filter(|_| text.trim_start_matches('\u{feff}').starts_with("---"))
                .map(|(_, b)| b.to_string())
                .unwrap_or_else(|| text.trim_start_matches('\u{feff}').to_string());
            assert!(
                out_text.ends_with(&original_body),
                "{name}: body changed:\n{out_text}"
            );
            for line in text.lines() {
                if line.starts_with("title")
                    || line.starts_with("tags")
                    || line.starts_with("layout")
                    || line.starts_with("date")
                {
                    assert!(out_text.contains(line), "{name}: lost {line:?}");
                }
            }
            if name.starts_with("bom") {
                assert!(out_text.starts_with("\u{feff}---\n"));
            }
            if name.starts_with("crlf") {
                assert!(
                    out_text.contains("AIGC:\r\n  Label: \"2\"\r\n")
                        || out_text.contains("AIGC:\r\n  Label: \"1\"\r\n")
                );
                assert!(!out_text.contains("old") && !out_text.contains("ProduceID: abc"));
            }
            previous = out;
        }
    }
}

/// The three dialects of implementations-in-the-wild #33.
const DIALECT_A: &str = "---
title: Deeptalk
AIGC:
  ContentPropagator: '001191110102MAD55U9H0F10002'
  ContentProducer: '001191110102MAD55U9H0F10002'
  Label: '1'
  PropagateID: '3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c'
  ProduceID: '3f2b8c1e-7d4a-4e9b-a1c2-5d6e7f8a9b0c'
  ReservedCode1: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
  ReservedCode2: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
---
# Body
";
const DIALECT_B: &str = "---
AIGC:
    Label: \"1\"
    ContentProducer: 001191440300708461136T1XGW3
    ProduceID: 0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210
    ReservedCode1: dGVzdCByZXNlcnZlZCBjb2RlIDE=
    ContentPropagator: 001191440300708461136T1XGW3
    PropagateID: 0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210
    ReservedCode2: dGVzdCByZXNlcnZlZCBjb2RlIDI=
---
Body
";
const DIALECT_C: &str = "---
AIGC:
  Label: AIGC
  ContentProducer: Minimax Agent AI
  ProduceID: 00000000000000000000000000000000
  ReservedCode1: 3045022100a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9002201f2e3d4c5b6a79880f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978
  ContentPropagator: Minimax Agent AI
  PropagateID: 00000000000000000000000000000000
  ReservedCode2: 3045022100a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9002201f2e3d4c5b6a79880f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978
---
Body
";

fn md(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn markdown_dialects_of_the_wild() {
    let dir = tmp();
    // (a) alphabetical keys, single quotes: key order is not an Annex E rule -> valid.
    let r = read(&md(dir.path(), "a.md", DIALECT_A));
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(codes(&r, 0).is_empty(), "{r:#?}");
    assert!(r.labels[0]
        .raw
        .starts_with(r#"{"ContentPropagator":"001191110102MAD55U9H0F10002""#));

    // (b) Annex order, 4-space indent, unquoted identifiers (YAML strings) -> valid.
    let r = read(&md(dir.path(), "b.md", DIALECT_B));
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(codes(&r, 0).is_empty(), "{r:#?}");

    // (c) MiniMax Agent: Label "AIGC" is not 1/2/3 (error); names with spaces (charset
    // warning, provider-name info); the 32 zeros stay the text "000…0".
    let r = read(&md(dir.path(), "c.md", DIALECT_C));
    assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
    let c = codes(&r, 0);
    assert!(c.contains(&ProblemCode::LabelValue), "{c:?}");
    assert!(c.contains(&ProblemCode::Charset), "{c:?}");
    assert!(c.contains(&ProblemCode::ProviderName), "{c:?}");
    assert!(!c.contains(&ProblemCode::NonStringValue), "{c:?}");
    assert_eq!(r.labels[0].fields["ProduceID"], "0".repeat(32));
    insta::assert_json_snapshot!("markdown_dialect_c_minimax", r, {".file" => "[file]"});

    // Unquoted `Label: 1` is a YAML integer: non-string value (module doc explains why).
    let r = read(&md(
        dir.path(),
        "int.md",
        &DIALECT_B.replace("Label: \"1\"", "Label: 1"),
    ));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(codes(&r, 0).contains(&ProblemCode::NonStringValue));

    // JSON text in a YAML string: accepted, noted as non-standard.
    let json = label_json("1", "in-a-string");
    let r = read(&md(
        dir.path(),
        "s.md",
        &format!("---\nAIGC: '{json}'\n---\n"),
    ));
    assert_eq!(r.labels[0].raw, json);
    assert!(codes(&r, 0).contains(&ProblemCode::NonstandardCarrier));

    // Key in another case.
    let r = read(&md(
        dir.path(),
        "case.md",
        &DIALECT_A.replace("AIGC:", "aigc:"),
    ));
    assert!(codes(&r, 0).contains(&ProblemCode::KeyCase));

    // Each dialect is rewritten to the standard block, the other lines kept.
    for (name, text) in [
        ("a.md", DIALECT_A),
        ("b.md", DIALECT_B),
        ("c.md", DIALECT_C),
    ] {
        let out = dir.path().join(format!("out-{name}"));
        let json = label_json("1", name);
        embed(&dir.path().join(name), &out, &json);
        assert_one_label(&read(&out), "markdown/front-matter/AIGC", &json);
        let out_text = std::fs::read_to_string(&out).unwrap();
        assert!(out_text.ends_with(text.split("\n---\n").nth(1).unwrap()));
        if name == "a.md" {
            assert!(out_text.starts_with("---\ntitle: Deeptalk\nAIGC:\n  Label: \"1\"\n"));
        }
    }
}

#[test]
fn markdown_robustness() {
    let dir = tmp();
    // Front matter never closed: a thematic break, not front matter -> unlabelled; embedding
    // prepends a front matter and keeps every original byte after it.
    let text = "---\nAIGC:\n  Label: \"1\"\n\nno closing marker\n";
    let p = md(dir.path(), "open.md", text);
    let r = read(&p);
    assert_eq!(r.verdict, Verdict::Unlabeled);
    let out = dir.path().join("open-out.md");
    let json = label_json("1", "open");
    embed(&p, &out, &json);
    assert_one_label(&read(&out), "markdown/front-matter/AIGC", &json);
    assert!(std::fs::read_to_string(&out).unwrap().ends_with(text));

    // Broken YAML in the front matter: an error naming the offset, not a panic.
    let p = md(dir.path(), "bad.md", "---\nAIGC: [unclosed\n---\nbody\n");
    let e = read_err(&p);
    assert!(matches!(e, CodecError::Corrupt { offset: 4, .. }), "{e}");

    // Not UTF-8.
    let p = dir.path().join("latin1.md");
    std::fs::write(&p, b"---\ntitle: caf\xe9\n---\n").unwrap();
    assert!(matches!(read_err(&p), CodecError::Corrupt { .. }));

    // A flow-mapping front matter cannot be spliced line by line: refused, not broken.
    let p = md(
        dir.path(),
        "flow.md",
        "---\n{title: x, AIGC: {Label: '1'}}\n---\nbody\n",
    );
    assert_eq!(read(&p).labels.len(), 1);
    let Err(e) = embed_path(
        &p,
        &dir.path().join("flow-out.md"),
        &json,
        EmbedOptions {
            overwrite: Overwrite::Replace,
            durability: Default::default(),
        },
    ) else {
        panic!("flow front matter was written")
    };
    assert!(matches!(e.error, CodecError::Unsupported(_)), "{e}");

    // Empty file and a lone marker.
    assert_eq!(
        read(&md(dir.path(), "empty.md", "")).verdict,
        Verdict::Unlabeled
    );
    assert_eq!(
        read(&md(dir.path(), "lone.md", "---")).verdict,
        Verdict::Unlabeled
    );
    // An empty front matter gets the block.
    let p = md(dir.path(), "emptyfm.md", "---\n---\nx\n");
    let out = dir.path().join("emptyfm-out.md");
    embed(&p, &out, &json);
    assert_one_label(&read(&out), "markdown/front-matter/AIGC", &json);
    assert!(std::fs::read_to_string(&out).unwrap().ends_with("---\nx\n"));
}
