//! A convscope model's weights as a Keras 3 `.weights.h5`, written with `hdf5-pure`: the
//! layout Keras's own `save_weights` writes for a Sequential model of the same layers
//! (`layers/<layer>/vars/<i>` with the layer's name on `vars`, the model's empty `vars`), so
//! that `model.load_weights(...)` in the notebook takes it. The optimizer's state is not
//! written (convscope does not keep it in a model file either).

use crate::nn::Sequential;
use crate::Result;
use hdf5_pure::{AttrValue, FileBuilder};

/// The bytes of a `.weights.h5` that Keras 3 loads into the Keras model of `model`'s layers.
pub fn keras_weights(model: &Sequential) -> Result<Vec<u8>> {
    let mut builder = FileBuilder::new();
    let mut layers = builder.create_group("layers");
    for layer in model.layers() {
        let mut group = layers.create_group(layer.name());
        let mut vars = group.create_group("vars");
        vars.set_attr("name", AttrValue::String(layer.name().to_string()));
        for (i, t) in layer.tensors().iter().enumerate() {
            let dims: Vec<u64> = t.dims.iter().map(|&d| d as u64).collect();
            vars.create_dataset(&i.to_string())
                .with_f32_data(layer.tensor(t))
                .with_shape(&dims);
        }
        group.add_group(vars.finish());
        layers.add_group(group.finish());
    }
    builder.add_group(layers.finish());
    let mut own = builder.create_group("vars");
    own.set_attr("name", AttrValue::String("sequential".into()));
    builder.add_group(own.finish());
    builder
        .finish()
        .map_err(|e| bad!("cannot write the Keras weights file: {e}"))
}
