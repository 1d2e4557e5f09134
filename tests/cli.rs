//! The `geoflow` program end to end on tiny inputs: bad options and files give one error line and
//! a non-zero exit; train → sample → eval works on a CSV of points.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Command;

fn geoflow(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_geoflow"))
        .args(args)
        .output()
        .expect("run geoflow");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("geoflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn unknown_options_give_one_line_and_exit_2() {
    let (code, _, err) = geoflow(&["--bogus"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, _, err) = geoflow(&["train", "--method", "nope", "--steps", "1"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--method nope"), "{err}");
}

#[test]
fn bad_files_give_one_line_with_the_line_number() {
    let (code, _, err) = geoflow(&["data", "--data", "/nonexistent/points.csv"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let p = tmp("bad.csv");
    let mut text = String::from("x,y,z\n");
    for _ in 0..12 {
        text.push_str("0,0,1\n");
    }
    text.push_str("0,zero,1\n");
    std::fs::write(&p, text).unwrap();
    let (code, _, err) = geoflow(&[
        "data",
        "--data",
        p.to_str().unwrap(),
        "--manifold",
        "sphere:2",
    ]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(":14:"), "{err}");
    // Off the manifold.
    std::fs::write(&p, "0,0,2\n".repeat(12)).unwrap();
    let (code, _, err) = geoflow(&[
        "data",
        "--data",
        p.to_str().unwrap(),
        "--manifold",
        "sphere:2",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(":1:"), "{err}");
    // A CSV needs --manifold.
    let (code, _, err) = geoflow(&["data", "--data", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("--manifold"), "{err}");
}

#[test]
fn train_sample_eval_on_a_csv() {
    let p = tmp("points.csv");
    let mut text = String::new();
    for i in 0..40 {
        let a = i as f64 * 0.15;
        text.push_str(&format!("{},{},0\n", a.cos(), a.sin()));
    }
    std::fs::write(&p, text).unwrap();
    let out = tmp("run");
    let data = p.to_str().unwrap();
    let (code, stdout, err) = geoflow(&[
        "train",
        "--data",
        data,
        "--manifold",
        "sphere:2",
        "--method",
        "lsd",
        "--steps",
        "4",
        "--batch",
        "8",
        "--width",
        "8",
        "--depth",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    let model = out.join("model.safetensors");
    assert!(model.exists() && out.join("checkpoint.safetensors").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
    // Resume to 6 steps.
    let (code, _, err) = geoflow(&[
        "train",
        "--data",
        data,
        "--manifold",
        "sphere:2",
        "--method",
        "lsd",
        "--steps",
        "6",
        "--batch",
        "8",
        "--width",
        "8",
        "--depth",
        "1",
        "--quiet",
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = geoflow(&[
        "sample",
        "--model",
        model.to_str().unwrap(),
        "--n",
        "5",
        "--steps",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout.lines().count(), 5);
    for line in stdout.lines() {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let r: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((r - 1.0).abs() < 1e-5, "{line}");
    }
    let (code, stdout, err) = geoflow(&[
        "eval",
        "--data",
        data,
        "--manifold",
        "sphere:2",
        "--model",
        model.to_str().unwrap(),
        "--steps",
        "1,2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("| lsd |"), "{stdout}");
    // A model on another manifold is refused.
    let (code, _, err) = geoflow(&[
        "eval",
        "--data",
        "torus-mixture",
        "--synthetic-n",
        "50",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("trained on"), "{err}");
}
