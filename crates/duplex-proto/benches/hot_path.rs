//! The per-byte and per-frame work every message pays for: masking (beside a plain copy of
//! the same buffer, its lower bound), frame header parsing, UTF-8 validation, and
//! permessage-deflate on a 64 KiB JSON-like message.
//!
//! ```text
//! cargo bench -p duplex-proto --bench hot_path
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use duplex_proto::{
    apply_mask, Config, Connection, DeflateConfig, DeflateParams, FrameHeader, OpCode, Role,
    Utf8Validator,
};

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [16usize, 64, 512, 4096, 65536] {
        let source = vec![0x5au8; size];
        let mut buf = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("apply_mask", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box([1, 2, 3, 4])))
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&source)))
        });
    }
    group.finish();
}

fn header_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    for (name, len) in [("7-bit", 64u64), ("16-bit", 4096), ("64-bit", 1 << 20)] {
        let mut wire = [0u8; 14];
        let n = FrameHeader::new(OpCode::Binary, len)
            .with_mask([1, 2, 3, 4])
            .encode(&mut wire);
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| FrameHeader::decode(black_box(&wire[..n])))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    let ascii = "{\"event\":\"tick\",\"value\":42}".repeat(2500);
    let mixed = "héllo wörld ✓ 日本語 😀 ".repeat(2500);
    for (name, text) in [("ascii", &ascii), ("multibyte", &mixed)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("validate_whole", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(text.as_bytes())).unwrap();
                v.finish().unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("validate_in_1k_pieces", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(text.as_bytes()).chunks(1000) {
                    v.feed(piece).unwrap();
                }
                v.finish().unwrap();
            })
        });
    }
    group.finish();
}

/// A 64 KiB message of the kind dashboards push: JSON records with repeated keys.
fn json_message() -> String {
    let mut s = String::from("[");
    let mut i = 0u64;
    while s.len() < 64 * 1024 - 200 {
        s.push_str(&format!(
            "{{\"id\":{i},\"symbol\":\"SYM{}\",\"price\":{}.{:02},\"volume\":{},\"side\":\"{}\"}},",
            i % 97,
            100 + (i * 7919) % 900,
            (i * 31) % 100,
            (i * 104_729) % 100_000,
            if i % 2 == 0 { "buy" } else { "sell" }
        ));
        i += 1;
    }
    s.push_str("{}]");
    s
}

fn deflate(c: &mut Criterion) {
    let message = json_message();
    let mut group = c.benchmark_group("deflate_64k_json");
    group.throughput(Throughput::Bytes(message.len() as u64));
    for (name, config) in [
        ("level6_takeover", DeflateConfig::default()),
        ("level1_takeover", DeflateConfig::default().level(1)),
        ("level6_lean", DeflateConfig::lean()),
    ] {
        let params = DeflateParams::default();
        let mut server = Connection::new(Role::Server, Config::default());
        server.enable_deflate(&params, &config);
        group.bench_function(BenchmarkId::new("compress", name), |b| {
            b.iter(|| {
                server.send_text(black_box(&message)).unwrap();
                let out = server.outgoing();
                let n = bytes::Buf::remaining(out);
                bytes::Buf::advance(out, n);
            })
        });
        // Inflate what a peer with the same settings sends.
        let mut peer = Connection::new(Role::Server, Config::default());
        peer.enable_deflate(&params, &config);
        let mut client = Connection::new(Role::Client, Config::default());
        client.enable_deflate(&params, &config);
        group.bench_function(BenchmarkId::new("inflate", name), |b| {
            b.iter_batched(
                || {
                    client.send_text(&message).unwrap();
                    let out = client.outgoing();
                    let n = bytes::Buf::remaining(out);
                    bytes::BytesMut::from(&bytes::Buf::copy_to_bytes(out, n)[..])
                },
                |mut wire| peer.receive(&mut wire).unwrap().unwrap(),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

#[allow(missing_docs)] // the macro generates an undocumented function
mod group {
    use super::*;
    criterion_group!(benches, masking, header_parse, utf8, deflate);
}
use group::benches;
criterion_main!(benches);
