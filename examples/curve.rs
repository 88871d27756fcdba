//! Throwaway analysis: per-epoch train/val/test curves of the chapter model on a data source.
use convscope::data::{h5, npy, Dataset};
use convscope::data::synthetic::{generate, SyntheticParams};
use convscope::nn::*;

fn ex(d: &Dataset) -> Examples<'_> { Examples::new(d.images(), d.labels(), d.image_len()).unwrap() }

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let src = a[1].as_str();
    let seed: u64 = a[2].parse().unwrap();
    let epochs: usize = a[3].parse().unwrap();
    let lr: f32 = a[4].parse().unwrap();
    let bs: usize = a[5].parse().unwrap();
    let momentum: f32 = a.get(6).map(|s| s.parse().unwrap()).unwrap_or(0.99);
    let (train, test) = if src == "happy" {
        let dir = "/work/shared/data/happy_house/";
        let train = npy::read_happy_npy(&std::fs::read(format!("{dir}train_gray_x.npy")).unwrap(), &std::fs::read(format!("{dir}train_y.npy")).unwrap()).unwrap();
        let (_, test) = h5::read_happy_h5(&std::fs::read(format!("{dir}test_happy.h5")).unwrap()).unwrap();
        (train, test.to_grayscale())
    } else {
        generate(&SyntheticParams::default()).unwrap()
    };
    let mut spec = ModelSpec::chapter_with_channels(train.channels());
    for l in &mut spec.layers { if let LayerSpec::BatchNorm { momentum: m, .. } = l { *m = momentum; } }
    let mut model = Sequential::new(&spec, seed).unwrap();
    let all = ex(&train);
    let (tr, val) = all.split_validation(0.2).unwrap();
    let config = FitConfig { epochs, batch_size: bs, seed, validation_split: 0.0, optimizer: OptimizerSpec::adam(lr), early_stopping: None, ..FitConfig::recommended() };
    let mut trainer = Trainer::new(&mut model, &tr, Some(&val), config).unwrap();
    loop {
        let s = trainer.step(&mut model, &tr, Some(&val)).unwrap();
        if let Some(log) = s.epoch {
            let t = evaluate(&mut model, &ex(&test), 32).unwrap();
            let tri = evaluate(&mut model, &tr, 32).unwrap();
            println!("{:3} loss {:.3} acc {:.3} | train-infer {:.3} {:.3} | val {:.3} {:.3} | test {:.3} {:.3} | {:.0}s",
                log.epoch, log.loss, log.accuracy, tri.loss, tri.accuracy, log.val_loss.unwrap(), log.val_accuracy.unwrap(), t.loss, t.accuracy, log.seconds);
        }
        if s.finished.is_some() { break; }
    }
}
