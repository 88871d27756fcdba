//! The augmentation options of `convscope train` and `convscope cross-dataset`: the page's
//! controls as flags (`convscope::data::augment`).

use clap::Args;
use convscope::data::augment::Augmentation;
use convscope::Result;

#[derive(Args, Debug, Clone, Default)]
pub struct AugmentArgs {
    /// Start from the suggested augmentation (left-right flips, ±10°, 5% shifts, zoom 1.1,
    /// brightness ±0.1, contrast ±20%, 1-pixel elastic warp); the flags below change parts of it.
    #[arg(long)]
    pub augment: bool,
    /// Mirror training images left-right at random.
    #[arg(long)]
    pub flip: bool,
    /// Mirror training images upside down at random.
    #[arg(long)]
    pub flip_vertical: bool,
    /// Rotate training images by up to this many degrees either way (0-180).
    #[arg(long)]
    pub rotate: Option<f32>,
    /// Shift training images by up to this fraction of their side (0-0.5).
    #[arg(long)]
    pub shift: Option<f32>,
    /// Zoom training images by a factor from 1/ZOOM to ZOOM (1-2; 1 = none).
    #[arg(long)]
    pub zoom: Option<f32>,
    /// Change brightness by up to this much either way (0-0.5, on intensities 0-1).
    #[arg(long)]
    pub brightness: Option<f32>,
    /// Change contrast by up to this fraction either way (0-0.9).
    #[arg(long)]
    pub contrast: Option<f32>,
    /// Elastic warp moving pixels by up to this many pixels (0-8).
    #[arg(long)]
    pub elastic: Option<f32>,
}

impl AugmentArgs {
    /// The settings the flags ask for, checked.
    pub fn settings(&self) -> Result<Augmentation> {
        let mut a = if self.augment {
            Augmentation::suggested()
        } else {
            Augmentation::default()
        };
        a.flip_horizontal |= self.flip;
        a.flip_vertical |= self.flip_vertical;
        let set = |field: &mut f32, flag: Option<f32>| {
            if let Some(v) = flag {
                *field = v;
            }
        };
        set(&mut a.rotation_degrees, self.rotate);
        set(&mut a.shift, self.shift);
        set(&mut a.zoom, self.zoom);
        set(&mut a.brightness, self.brightness);
        set(&mut a.contrast, self.contrast);
        set(&mut a.elastic_pixels, self.elastic);
        a.validate()?;
        Ok(a)
    }
}
