//! A training step allocates nothing once the first batch has run: a counting global allocator
//! watches the calling thread while the trainer runs batches of the chapter's model (forward,
//! loss, backward, Adam), and while a trained model runs inference and backprop to the input.

use convscope::nn::{Examples, FitConfig, Mode, ModelSpec, Sequential, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(|a| a.get());
    f();
    ALLOCATIONS.with(|a| a.get()) - before
}

#[test]
fn training_steps_and_explanation_passes_do_not_allocate() {
    // The counter sees this thread's allocations (so the check below could fail).
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 10]))) > 0);
    // 40 images with 20% validation: 32 training images, 4 batches of 8 per epoch.
    let n = 40;
    let len = 64 * 64 * 3;
    let x: Vec<f32> = (0..n * len)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let y: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let data = Examples::new(&x, &y, len).unwrap();
    let mut model = Sequential::new(&ModelSpec::chapter(), 1).unwrap();
    let config = FitConfig {
        epochs: 3,
        batch_size: 8,
        validation_split: 0.2,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let mut trainer = Trainer::new(&mut model, &data, None, config).unwrap();
    assert_eq!(trainer.batches_per_epoch(), 4);

    // Batch 1 may still size things; batches 2 and 3 (not ending the epoch) must not allocate.
    trainer.step(&mut model, &data, None).unwrap();
    for batch in 2..=3 {
        let count = allocations_during(|| {
            let step = trainer.step(&mut model, &data, None).unwrap();
            assert!(step.epoch.is_none());
        });
        assert_eq!(count, 0, "training batch {batch} allocated {count} times");
    }
    // The epoch end validates and logs (allocation allowed there); the next epoch's batches,
    // after a reshuffle, still allocate nothing.
    let step = trainer.step(&mut model, &data, None).unwrap();
    assert!(step.epoch.is_some());
    for batch in 1..=3 {
        let count = allocations_during(|| {
            trainer.step(&mut model, &data, None).unwrap();
        });
        assert_eq!(count, 0, "epoch 2, batch {batch} allocated {count} times");
    }

    // Inference and a gradient sent from the logit down to the image (saliency's pass).
    let image = &x[..2 * len];
    model.forward(image, Mode::Infer);
    let last = model.layers().len() - 1;
    let d_logit = [1.0f32, 1.0];
    let count = allocations_during(|| {
        model.forward(image, Mode::Infer);
        let d_input = model.backprop(last, &d_logit, 0, false);
        assert_eq!(d_input.len(), 2 * len);
    });
    assert_eq!(count, 0, "inference + backprop allocated {count} times");
}
