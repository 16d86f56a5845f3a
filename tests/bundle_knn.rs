//! bundle-knn: neighbours equal brute force (random, clustered, duplicated
//! points), splits never mix, targets are normalised and equal the library's,
//! σ auto follows the paper's rule, output is deterministic, bad input fails.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::*;
use phasekit::bundle::target::TargetBuilder;
use phasekit::contract::{self, col_str, col_u64, list_f32, list_u64, TableWriter};
use phasekit::io::SinkOptions;
use phasekit::meta::{Grid, Kind};

/// A microstates file with the given (T, h) points and ids (states are dummies).
fn write_points(path: &Path, pts: &[(u64, f64, f64)]) {
    let m = meta(Kind::Microstates).with("state_shape", [2, 2]);
    let mut w = TableWriter::create(path, &m, &[], &SinkOptions::default()).unwrap();
    for &(id, t, h) in pts {
        w.u64(0, id);
        w.f64(1, t);
        w.f64(2, h);
        w.list_i8(3, &[1, -1, 1, -1]);
        w.end_row().unwrap();
    }
    w.finish().unwrap();
}

struct Bundles {
    id: Vec<u64>,
    split: Vec<String>,
    members: Vec<Vec<u64>>,
    target: Vec<Vec<f32>>,
    grid: Grid,
}

fn read(path: &Path) -> Bundles {
    let ds = contract::open(path, Kind::Bundles).unwrap();
    let grid: Grid = ds.meta.get(path, "grid").unwrap();
    let mut b = Bundles {
        id: vec![],
        split: vec![],
        members: vec![],
        target: vec![],
        grid,
    };
    let has_target = ds.schema.field_with_name("target").is_ok();
    for batch in ds.batches(None, 4096).unwrap() {
        let batch = batch.unwrap();
        b.id.extend_from_slice(col_u64(&batch, "bundle_id").unwrap());
        b.split.extend(
            col_str(&batch, "split")
                .unwrap()
                .iter()
                .map(|s| s.unwrap().to_string()),
        );
        let (m, k) = list_u64(&batch, "members").unwrap();
        b.members.extend(m.chunks(k).map(|c| c.to_vec()));
        if has_target {
            let (t, g) = list_f32(&batch, "target").unwrap();
            b.target.extend(t.chunks(g).map(|c| c.to_vec()));
        }
    }
    b
}

fn bundle(dir: &Path, input: &Path, name: &str, extra: &[&str]) -> Bundles {
    let out = dir.join(name);
    let mut args = vec![
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend(extra);
    let r = run("bundle-knn", &args);
    assert!(r.status.success(), "{}", stderr(&r));
    read(&out)
}

/// Brute-force neighbours within each split, in unit-scaled coordinates.
fn brute(
    pts: &[(u64, f64, f64)],
    split: &HashMap<u64, String>,
    k: usize,
) -> HashMap<u64, Vec<u64>> {
    let unit = |t: f64, h: f64| ((t - 1.0) / 4.0, (h + 2.0) / 4.0);
    let mut out = HashMap::new();
    for &(id, t, h) in pts {
        let (x, y) = unit(t, h);
        let mut cand: Vec<(f64, u64)> = pts
            .iter()
            .filter(|p| p.0 != id && split[&p.0] == split[&id])
            .map(|&(j, tj, hj)| {
                let (xj, yj) = unit(tj, hj);
                ((x - xj).powi(2) + (y - yj).powi(2), j)
            })
            .collect();
        cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut row = vec![id];
        row.extend(cand.iter().take(k - 1).map(|c| c.1));
        out.insert(id, row);
    }
    out
}

/// (id, T, h) of each sample.
type PointSet = Vec<(u64, f64, f64)>;

fn point_sets() -> Vec<(&'static str, PointSet)> {
    let mut r = Lcg(5);
    let uniform: Vec<_> = (0..600u64)
        .map(|i| (i * 3 + 1, 1.0 + 4.0 * r.unit(), -2.0 + 4.0 * r.unit()))
        .collect();
    let clustered: Vec<_> = (0..600u64)
        .map(|i| {
            let c = [(1.5, -1.0), (4.0, 1.5), (2.5, 0.0)][(i % 3) as usize];
            (i, c.0 + 0.01 * r.unit(), c.1 + 0.01 * r.unit())
        })
        .collect();
    let base: Vec<(f64, f64)> = (0..30)
        .map(|_| (1.0 + 4.0 * r.unit(), -2.0 + 4.0 * r.unit()))
        .collect();
    let duplicated: Vec<_> = (0..600u64)
        .map(|i| (1000 - i, base[i as usize % 30].0, base[i as usize % 30].1))
        .collect();
    vec![
        ("uniform", uniform),
        ("clustered", clustered),
        ("duplicated", duplicated),
    ]
}

#[test]
fn neighbours_equal_brute_force_and_splits_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    for (name, pts) in point_sets() {
        let input = dir.path().join(format!("{name}.parquet"));
        write_points(&input, &pts);
        let b = bundle(
            dir.path(),
            &input,
            &format!("{name}-b.parquet"),
            &["--k-neib", "8", "--sigma", "0.02", "--seed", "3"],
        );
        assert_eq!(b.id.len(), pts.len());
        let split: HashMap<u64, String> =
            b.id.iter().cloned().zip(b.split.iter().cloned()).collect();
        assert_eq!(
            split.values().filter(|s| *s == "test").count(),
            120,
            "{name}: 20% test"
        );
        let want = brute(&pts, &split, 8);
        for (id, members) in b.id.iter().zip(&b.members) {
            assert_eq!(&want[id], members, "{name}: bundle {id}");
            assert_eq!(members[0], *id, "the centre comes first");
            assert!(
                members.iter().all(|m| split[m] == split[id]),
                "{name}: bundle {id} mixes splits"
            );
            assert_eq!(
                members.iter().collect::<HashSet<_>>().len(),
                8,
                "distinct members"
            );
        }
    }
}

#[test]
fn materialized_targets_are_normalised_and_match_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pts) = point_sets().remove(0);
    let input = dir.path().join("u.parquet");
    write_points(&input, &pts);
    let b = bundle(
        dir.path(),
        &input,
        "t.parquet",
        &[
            "--k-neib",
            "6",
            "--k-bundle",
            "3",
            "--grid",
            "20x12",
            "--sigma",
            "0.03",
            "--materialize-targets",
        ],
    );
    assert_eq!(b.grid.shape, [20, 12]);
    assert_eq!(b.grid.sigma, 0.03);
    let params: HashMap<u64, [f64; 2]> = pts.iter().map(|&(id, t, h)| (id, [t, h])).collect();
    let mut tb = TargetBuilder::new(&b.grid);
    let mut want = vec![0f32; 240];
    for (members, target) in b.members.iter().zip(&b.target) {
        let sum: f64 = target.iter().map(|&v| v as f64).sum();
        assert!((sum - 1.0).abs() < 1e-5, "target sums to {sum}");
        let ms: Vec<[f64; 2]> = members.iter().map(|m| params[m]).collect();
        tb.build(&ms, &mut want);
        assert_eq!(target, &want);
    }
}

#[test]
fn sigma_auto_is_the_mean_distance_to_the_last_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pts) = point_sets().remove(0);
    let input = dir.path().join("u.parquet");
    write_points(&input, &pts);
    let b = bundle(
        dir.path(),
        &input,
        "a.parquet",
        &["--k-neib", "5", "--sigma", "auto"],
    );
    let unit: HashMap<u64, (f64, f64)> = pts
        .iter()
        .map(|&(id, t, h)| (id, ((t - 1.0) / 4.0, (h + 2.0) / 4.0)))
        .collect();
    let (mut sum, mut n) = (0.0, 0);
    for ((id, s), m) in b.id.iter().zip(&b.split).zip(&b.members) {
        if s == "train" {
            let (a, c) = (unit[id], unit[m.last().unwrap()]);
            sum += ((a.0 - c.0).powi(2) + (a.1 - c.1).powi(2)).sqrt();
            n += 1;
        }
    }
    assert!((b.grid.sigma - sum / n as f64).abs() < 1e-12);
}

#[test]
fn output_is_deterministic_whatever_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pts) = point_sets().remove(1);
    write_points(&dir.path().join("c.parquet"), &pts);
    let first = same_bytes_across_threads(
        "bundle-knn",
        &["-i", "../c.parquet", "--seed", "4"],
        dir.path(),
    );
    // provenance names the dataset and its hash
    let ds = contract::open(&first, Kind::Bundles).unwrap();
    assert_eq!(ds.meta.provenance.inputs[0].path, "../c.parquet");
    assert!(ds.meta.provenance.inputs[0].hash.starts_with("blake3:"));
    let other = bundle(
        dir.path(),
        &dir.path().join("c.parquet"),
        "o.parquet",
        &["--seed", "5"],
    );
    let first = read(&first);
    assert_ne!(first.split, other.split, "another seed, another split");
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let pts: Vec<(u64, f64, f64)> = (0..20u64)
        .map(|i| (i, 1.0 + 0.2 * i as f64, 0.1 * i as f64 - 1.0))
        .collect();
    let good = dir.path().join("g.parquet");
    write_points(&good, &pts);
    let mut nan_pts = pts.clone();
    nan_pts[3].2 = f64::NAN;
    let nan = dir.path().join("nan.parquet");
    write_points(&nan, &nan_pts);
    let not_micro = dir.path().join("tl.parquet");
    write_example(Kind::Trainlog, &not_micro).unwrap();
    // a microstates file whose metadata declares T and h but which lacks h
    let m = meta(Kind::Microstates).with("state_shape", [2, 2]);
    let rules = phasekit::contract::rules_for(&good, &m).unwrap();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(
        phasekit::contract::schema_for(&rules, &[])
            .fields()
            .iter()
            .filter(|f| f.name() != "h")
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let no_h = dir.path().join("noh.parquet");
    let batch = arrow::record_batch::RecordBatch::new_empty(schema.clone());
    let mut sink =
        phasekit::io::ParquetSink::create(&no_h, schema, &m, &SinkOptions::default()).unwrap();
    sink.write(&batch).unwrap();
    sink.finish().unwrap();

    let out = dir.path().join("out.parquet");
    let o = out.to_str().unwrap();
    let g = good.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-i", g, "--k-neib", "5"], "--k-neib"), // test split has 4 samples
        (
            vec!["-i", g, "--k-neib", "3", "--k-bundle", "4"],
            "--k-bundle",
        ),
        (vec!["-i", g, "--sigma", "0"], "--sigma"),
        (vec!["-i", g, "--sigma", "-0.1"], "--sigma"),
        (vec!["-i", g, "--sigma", "nan"], "--sigma"),
        (vec!["-i", g, "--grid", "0x32"], "--grid"),
        (vec!["-i", g, "--grid", "32"], "--grid"),
        (vec!["-i", g, "--test-fraction", "1.5"], "--test-fraction"),
        (
            vec![
                "-i",
                nan.to_str().unwrap(),
                "--k-neib",
                "2",
                "--k-bundle",
                "2",
            ],
            "nan.parquet",
        ),
        (vec!["-i", not_micro.to_str().unwrap()], "tl.parquet"),
        (vec!["-i", no_h.to_str().unwrap()], "'h'"),
        (vec!["-i", "/nonexistent.parquet"], "/nonexistent.parquet"),
    ];
    assert_refused("bundle-knn", &["-o", o], &cases, &out);
}
