use super::*;

/// Grey images in [0, 1], one `Vec` per image.
fn grey(d: &DigitImages) -> Vec<Vec<f32>> {
    let hw = d.side * d.side;
    let mut out = vec![0.0; d.len() * hw];
    d.write_chw(0..d.len(), Colour::Grey, &mut out).unwrap();
    out.chunks_exact(hw).map(<[f32]>::to_vec).collect()
}

fn class_means(x: &[Vec<f32>], y: &[i64]) -> Vec<Vec<f32>> {
    let mut means = vec![vec![0.0; x[0].len()]; CLASSES];
    let mut counts = [0usize; CLASSES];
    for (img, &l) in x.iter().zip(y) {
        counts[l as usize] += 1;
        means[l as usize]
            .iter_mut()
            .zip(img)
            .for_each(|(m, v)| *m += v);
    }
    for (m, &c) in means.iter_mut().zip(&counts) {
        m.iter_mut().for_each(|v| *v /= c as f32);
    }
    means
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// Accuracy of the nearest class mean on `(x, y)`.
fn ncm_accuracy(means: &[Vec<f32>], x: &[Vec<f32>], y: &[i64]) -> f64 {
    let right = x
        .iter()
        .zip(y)
        .filter(|(img, &l)| {
            let best = (0..CLASSES)
                .min_by(|&a, &b| dist2(img, &means[a]).total_cmp(&dist2(img, &means[b])))
                .unwrap();
            best as i64 == l
        })
        .count();
    right as f64 / y.len() as f64
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for domain in [DigitDomain::Source, DigitDomain::Target] {
        let a = render(domain, 40, 7);
        assert_eq!(a, render(domain, 40, 7), "{domain:?}");
        let b = render(domain, 40, 8);
        assert_ne!(a.pixels, b.pixels, "{domain:?}");
        for i in 0..40 {
            assert_ne!(
                a.image(i),
                b.image(i),
                "{domain:?} image {i} ignores the seed"
            );
        }
    }
    assert_ne!(
        render(DigitDomain::Source, 10, 7).pixels,
        render(DigitDomain::Target, 10, 7).pixels
    );
}

#[test]
fn a_sample_depends_only_on_its_index() {
    let all = render(DigitDomain::Target, 30, 3);
    let head = render(DigitDomain::Target, 11, 3);
    assert_eq!(head.pixels[..], all.pixels[..head.pixels.len()]);
    assert_eq!(head.labels[..], all.labels[..11]);
}

#[test]
fn labels_are_balanced() {
    let d = render(DigitDomain::Source, 1005, 1);
    assert_eq!(d.len(), 1005);
    assert_eq!(d.pixels.len(), 1005 * 28 * 28 * 3);
    let mut counts = [0usize; CLASSES];
    d.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [101, 101, 101, 101, 101, 100, 100, 100, 100, 100]);
    assert!(render(DigitDomain::Target, 0, 1).is_empty());
}

#[test]
fn every_class_has_its_own_mean_image() {
    let d = render(DigitDomain::Source, 1000, 2);
    let means = class_means(&grey(&d), &d.labels);
    for a in 0..CLASSES {
        for b in a + 1..CLASSES {
            let rms = (dist2(&means[a], &means[b]) / means[a].len() as f32).sqrt();
            assert!(
                rms > 0.05,
                "classes {a} and {b} look alike on average: rms {rms}"
            );
        }
    }
}

#[test]
fn images_are_not_blank() {
    for domain in [DigitDomain::Source, DigitDomain::Target] {
        let d = render(domain, 300, 4);
        for i in 0..d.len() {
            let img = d.image(i);
            let (lo, hi) = img
                .iter()
                .fold((255u8, 0u8), |(l, h), &v| (l.min(v), h.max(v)));
            assert!(hi - lo >= 60, "{domain:?} image {i} spans only {lo}..{hi}");
        }
    }
    // Source ink is light on dark: the glyph's middle outshines the frame on average.
    let d = grey(&render(DigitDomain::Source, 200, 5));
    let side = 28;
    let (mut centre, mut border) = (0.0, 0.0);
    for img in &d {
        centre += (10..18)
            .flat_map(|y| (10..18).map(move |x| (y, x)))
            .map(|(y, x)| img[y * side + x])
            .sum::<f32>()
            / 64.0;
        border += (0..side)
            .map(|x| img[x] + img[(side - 1) * side + x])
            .sum::<f32>()
            / 56.0;
    }
    assert!(centre > 2.0 * border, "centre {centre} border {border}");
}

/// Mean over pixels of (max - min) / 255 of the channels, and mean brightness of the frame.
fn saturation_and_border(d: &DigitImages) -> (f64, f64) {
    let (mut sat, mut border) = (0.0f64, 0.0f64);
    let side = d.side;
    for i in 0..d.len() {
        let img = d.image(i);
        for (p, px) in img.chunks_exact(3).enumerate() {
            let (lo, hi) = (px.iter().min().unwrap(), px.iter().max().unwrap());
            sat += (hi - lo) as f64 / 255.0;
            let (y, x) = (p / side, p % side);
            if y == 0 || x == 0 || y == side - 1 || x == side - 1 {
                border += px.iter().map(|&v| v as f64).sum::<f64>() / (3.0 * 255.0);
            }
        }
    }
    let n = d.len() as f64;
    (
        sat / (n * (side * side) as f64),
        border / (n * (4 * side - 4) as f64),
    )
}

#[test]
fn target_pixels_differ_from_source_in_colour_and_background() {
    let (s_sat, s_border) = saturation_and_border(&render(DigitDomain::Source, 300, 6));
    let (t_sat, t_border) = saturation_and_border(&render(DigitDomain::Target, 300, 6));
    eprintln!("saturation source {s_sat:.3} target {t_sat:.3}; border source {s_border:.3} target {t_border:.3}");
    assert!(s_sat < 0.05, "source should be grey-ish: {s_sat}");
    assert!(t_sat > 0.1, "target should be coloured: {t_sat}");
    assert!(
        s_border < 0.15,
        "source background should be dark: {s_border}"
    );
    assert!(
        t_border > 0.3,
        "target background should be brighter: {t_border}"
    );
}

#[test]
fn classes_are_learnable_on_source_and_shifted_on_target() {
    let train = render(DigitDomain::Source, 2000, 10);
    let means = class_means(&grey(&train), &train.labels);
    let source = render(DigitDomain::Source, 1000, 11);
    let target = render(DigitDomain::Target, 1000, 11);
    let on_source = ncm_accuracy(&means, &grey(&source), &source.labels);
    let on_target = ncm_accuracy(&means, &grey(&target), &target.labels);
    eprintln!("nearest class mean trained on source: source {on_source:.3}, target {on_target:.3}");
    assert!(on_source > 0.5, "source accuracy {on_source}");
    assert!(
        on_target < on_source - 0.15,
        "target {on_target} should trail source {on_source} clearly"
    );
}

#[test]
fn chw_layout_matches_the_bytes() {
    let d = render(DigitDomain::Target, 3, 9);
    let hw = 28 * 28;
    let mut rgb = vec![0.0; 2 * 3 * hw];
    d.write_chw(1..3, Colour::Rgb, &mut rgb).unwrap();
    let img = d.image(2);
    for p in [0, 17, 400, hw - 1] {
        for k in 0..3 {
            assert_eq!(rgb[3 * hw + k * hw + p], img[3 * p + k] as f32 / 255.0);
        }
    }
    let mut g = vec![0.0; hw];
    d.write_chw(0..1, Colour::Grey, &mut g).unwrap();
    assert_eq!(g[5], luma(&d.image(0)[15..18]) as f32 / 255.0);
}

#[test]
fn bad_ranges_buffers_and_sides_are_errors() {
    let d = render(DigitDomain::Source, 4, 0);
    let mut buf = vec![0.0; 28 * 28];
    let e = d.write_chw(3..5, Colour::Grey, &mut buf).unwrap_err();
    assert!(
        e.to_string().contains("3..5") && e.to_string().contains("4 images"),
        "{e}"
    );
    let e = d.write_chw(0..2, Colour::Grey, &mut buf).unwrap_err();
    assert!(e.to_string().contains("expected 1568"), "{e}");
    let e = render_with(DigitDomain::Source, 1, 0, &RenderOptions { side: 4 }).unwrap_err();
    assert!(
        e.to_string()
            .contains("side must be 12 to 256 pixels, got 4"),
        "{e}"
    );
    let big = render_with(DigitDomain::Target, 2, 0, &RenderOptions { side: 56 }).unwrap();
    assert_eq!((big.side, big.image(1).len()), (56, 56 * 56 * 3));
}
