//! Parquet I/O and file contracts: round trips, datasets of parts, flat memory,
//! atomic output, and the errors a wrong file gets from a real binary.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeListArray, Float64Array, Int16Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use common::*;
use phasekit::contract::{
    self, col_f64, col_str, col_u64, list_f32, list_i8, list_u64, TableWriter,
};
use phasekit::io::{Dataset, ParquetSink, SinkOptions};
use phasekit::meta::Kind;

#[test]
fn every_kind_round_trips_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    for kind in Kind::ALL {
        let path = dir.path().join(format!("{kind}.parquet"));
        let rows = write_example(kind, &path).unwrap();
        let ds = contract::open(&path, kind).unwrap();
        assert_eq!(ds.num_rows, rows, "{kind}");
        assert_eq!(ds.meta, meta(kind), "{kind}: metadata survives");
        let batches: Vec<RecordBatch> = ds
            .batches(None, 1024)
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        let b = &batches[0];
        match kind {
            Kind::Microstates => {
                let (states, n) = list_i8(b, "state").unwrap();
                assert_eq!(n, 16);
                assert!(states.iter().all(|&s| s == 1 || s == -1));
                assert_eq!(
                    col_u64(b, "id").unwrap(),
                    &(0..10).collect::<Vec<u64>>()[..]
                );
                // magnetization column equals the mean of the stored spins
                let mag = col_f64(b, "magnetization").unwrap();
                for (r, m) in mag.iter().enumerate() {
                    let s: f64 = states[r * 16..(r + 1) * 16].iter().map(|&x| x as f64).sum();
                    assert!((s / 16.0 - m).abs() < 1e-12);
                }
            }
            Kind::Bundles => {
                let (members, k) = list_u64(b, "members").unwrap();
                assert_eq!(k, 3);
                assert_eq!(&members[3..6], &[1, 3, 5]);
                assert_eq!(col_str(b, "split").unwrap().value(1), "test");
            }
            Kind::Posteriors => {
                let (p, n) = list_f32(b, "posterior").unwrap();
                assert_eq!(n, 6);
                for r in 0..6 {
                    assert_eq!(p[r * 6..(r + 1) * 6].iter().sum::<f32>(), 1.0);
                    assert_eq!(p[r * 6 + r], 1.0);
                }
            }
            Kind::Thermo => assert_eq!(col_f64(b, "fisher_T_h").unwrap()[4], 4.0),
            Kind::Trainlog => assert_eq!(col_f64(b, "loss").unwrap()[1], 0.5),
            Kind::Estimates => assert_eq!(col_u64(b, "n_samples").unwrap()[0], 1000),
            Kind::Couplings => {
                assert_eq!(col_str(b, "term").unwrap().value(4), "H");
                assert_eq!(col_u64(b, "j").unwrap()[3], 0);
            }
            Kind::Latents => {
                assert_eq!(col_str(b, "phase").unwrap().value(4), "pm");
                assert_eq!(col_f64(b, "sigma_1").unwrap()[2], 2.5);
            }
        }
    }
}

#[test]
fn identical_content_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_microstates(&a, 500, 8, 0).unwrap();
    write_microstates(&b, 500, 8, 0).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn folder_of_parts_reads_as_one_dataset_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("ds");
    std::fs::create_dir(&parts).unwrap();
    // written out of order on purpose: the reader orders by name
    write_microstates(&parts.join("part-00001-of-00003.parquet"), 40, 4, 30).unwrap();
    write_microstates(&parts.join("part-00000-of-00003.parquet"), 30, 4, 0).unwrap();
    write_microstates(&parts.join("part-00002-of-00003.parquet"), 5, 4, 70).unwrap();
    let whole = dir.path().join("whole.parquet");
    write_microstates(&whole, 75, 4, 0).unwrap();

    let read_all = |p: &std::path::Path| {
        let ds = contract::open(p, Kind::Microstates).unwrap();
        let mut ids = Vec::new();
        let mut states = Vec::new();
        for b in ds.batches(Some(&["id", "state"]), 7).unwrap() {
            let b = b.unwrap();
            ids.extend_from_slice(col_u64(&b, "id").unwrap());
            states.extend_from_slice(list_i8(&b, "state").unwrap().0);
        }
        (ds.num_rows, ids, states)
    };
    let (n_parts, ids_parts, st_parts) = read_all(&parts);
    let (n_whole, ids_whole, st_whole) = read_all(&whole);
    assert_eq!(n_parts, 75);
    assert_eq!(
        (n_parts, &ids_parts, &st_parts),
        (n_whole, &ids_whole, &st_whole)
    );
    assert_eq!(ids_parts, (0..75).collect::<Vec<u64>>());
}

#[test]
fn parts_that_disagree_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("ds");
    std::fs::create_dir(&parts).unwrap();
    write_microstates(&parts.join("part-0.parquet"), 3, 4, 0).unwrap();
    write_microstates(&parts.join("part-1.parquet"), 3, 6, 3).unwrap();
    let err = Dataset::open(&parts).unwrap_err().to_string();
    assert!(
        err.contains("part-1.parquet") && err.contains("disagrees"),
        "{err}"
    );
}

#[test]
fn failed_writer_leaves_nothing_at_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.parquet");
    {
        let m = meta(Kind::Trainlog);
        let mut w = TableWriter::create(&target, &m, &[], &SinkOptions::default()).unwrap();
        for i in 0..100_000u64 {
            w.u64(0, i);
            w.str(1, "train");
            w.f64(2, 0.5);
            w.end_row().unwrap();
        }
        // dropped without finish(): the run failed midway
    }
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary file removed too"
    );
}

#[test]
fn killed_writer_leaves_nothing_at_target() {
    // A child process writes slowly and is killed with SIGKILL mid-file.
    if std::env::var("PK_SLOW_WRITER").is_ok() {
        let target = std::path::PathBuf::from(std::env::var("PK_SLOW_WRITER").unwrap());
        let m = meta(Kind::Trainlog);
        let mut w = TableWriter::create(&target, &m, &[], &SinkOptions::default()).unwrap();
        for i in 0.. {
            w.u64(0, i);
            w.str(1, "train");
            w.f64(2, 0.5);
            w.end_row().unwrap();
            if i % 1000 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        unreachable!();
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.parquet");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_writer_leaves_nothing_at_target",
            "--nocapture",
        ])
        .env("PK_SLOW_WRITER", &target)
        .spawn()
        .unwrap();
    // wait until the temporary file exists, then kill
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let tmp_exists = std::fs::read_dir(dir.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".pk-tmp-")
        });
        if tmp_exists || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !target.exists(),
        "a killed writer must not leave a file at the target path"
    );
}

/// Peak resident memory (VmHWM, KiB) of a child that writes and then streams
/// back `rows` microstates rows of 32x32 states.
fn peak_rss_kib(rows: u64) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "memory_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PK_MEM_ROWS", rows.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("PEAK_KIB=").expect("child reports its peak") + "PEAK_KIB=".len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap()
}

#[test]
fn memory_child() {
    // Runs the streamed write + read; as a child of memory_stays_flat it also
    // reports its peak RSS. Alone, it is a plain round trip of 2,000 rows.
    let rows: u64 = std::env::var("PK_MEM_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    write_microstates(&path, rows, 32, 0).unwrap();
    let ds = contract::open(&path, Kind::Microstates).unwrap();
    let (mut n, mut checksum) = (0u64, 0i64);
    for b in ds.batches(None, 4096).unwrap() {
        let b = b.unwrap();
        n += b.num_rows() as u64;
        checksum += list_i8(&b, "state")
            .unwrap()
            .0
            .iter()
            .map(|&s| s as i64)
            .sum::<i64>();
    }
    assert_eq!(n, rows);
    assert!(checksum.unsigned_abs() < rows * 1024, "spins are ±1");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = hwm.split_whitespace().nth(1).unwrap().parse().unwrap();
    println!("PEAK_KIB={kib}");
}

#[test]
fn memory_stays_flat_as_rows_grow() {
    // 20k rows = 20 MiB of states; 200k rows = 200 MiB.
    let small = peak_rss_kib(20_000);
    let large = peak_rss_kib(200_000);
    eprintln!("peak RSS: 20k rows {small} KiB, 200k rows {large} KiB");
    assert!(
        (large as f64) < 1.5 * small as f64,
        "10x the rows must not need much more memory: {small} KiB -> {large} KiB"
    );
}

fn inspect(args: &[&str]) -> (i32, String) {
    let o = run("pk-inspect", args);
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn wrong_files_get_one_clear_error_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_string_lossy().to_string();

    // a valid file passes
    write_example(Kind::Bundles, std::path::Path::new(&d("b.parquet"))).unwrap();
    let ok = run("pk-inspect", &["--kind", "bundles", &d("b.parquet")]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("members"));

    // wrong kind
    let (code, err) = inspect(&["--kind", "microstates", &d("b.parquet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("b.parquet")
            && err.contains("bundles")
            && err.contains("expected a microstates"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    // missing column: a bundles file without 'members'
    let m = meta(Kind::Bundles);
    let schema = Arc::new(Schema::new(vec![
        Field::new("bundle_id", DataType::UInt64, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("T", DataType::Float64, false),
        Field::new("h", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(vec![0u64])),
        Arc::new(arrow::array::StringArray::from(vec!["train"])),
        Arc::new(Float64Array::from(vec![1.0])),
        Arc::new(Float64Array::from(vec![0.0])),
    ];
    let mut s = ParquetSink::create(
        std::path::Path::new(&d("nomembers.parquet")),
        schema.clone(),
        &m,
        &SinkOptions::default(),
    )
    .unwrap();
    s.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    s.finish().unwrap();
    let (code, err) = inspect(&[&d("nomembers.parquet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nomembers.parquet")
            && err.contains("'members'")
            && err.contains("FixedSizeList<UInt64, 3>"),
        "{err}"
    );

    // wrong column type: microstates whose state is Int16
    let m = meta(Kind::Microstates);
    let item = Arc::new(Field::new("item", DataType::Int16, false));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("T", DataType::Float64, false),
        Field::new("h", DataType::Float64, false),
        Field::new("state", DataType::FixedSizeList(item.clone(), 16), false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(vec![0u64])),
        Arc::new(Float64Array::from(vec![2.0])),
        Arc::new(Float64Array::from(vec![0.0])),
        Arc::new(FixedSizeListArray::new(
            item,
            16,
            Arc::new(Int16Array::from(vec![1i16; 16])),
            None,
        )),
    ];
    let mut s = ParquetSink::create(
        std::path::Path::new(&d("int16.parquet")),
        schema.clone(),
        &m,
        &SinkOptions::default(),
    )
    .unwrap();
    s.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    s.finish().unwrap();
    let (code, err) = inspect(&[&d("int16.parquet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("int16.parquet")
            && err.contains("'state'")
            && err.contains("FixedSizeList<Int8, 16>"),
        "{err}"
    );

    // truncated file
    write_example(Kind::Microstates, std::path::Path::new(&d("full.parquet"))).unwrap();
    let bytes = std::fs::read(d("full.parquet")).unwrap();
    std::fs::write(d("cut.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    let (code, err) = inspect(&[&d("cut.parquet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cut.parquet") && err.contains("truncated or corrupt"),
        "{err}"
    );

    // missing file, and a Parquet file that is not a phasekit file
    let (code, err) = inspect(&[&d("absent.parquet")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("absent.parquet") && err.contains("no such file"),
        "{err}"
    );

    // bad usage
    let (code, err) = inspect(&["--kind", "nonsense", &d("b.parquet")]);
    assert_eq!(code, 2);
    assert!(err.contains("--kind") && err.contains("nonsense"), "{err}");
    let (code, _) = inspect(&["--no-such-flag", &d("b.parquet")]);
    assert_eq!(code, 2);
}
