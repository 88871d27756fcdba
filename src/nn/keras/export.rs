//! A convscope model as Keras 3 files: its weights as a `.weights.h5`, written with `hdf5-pure`
//! in the layout Keras's own `save_weights` writes for a Sequential model of the same layers
//! (`layers/<layer>/vars/<i>` with the layer's name on `vars`, the model's empty `vars`), so
//! that `model.load_weights(...)` in the notebook takes it; and the whole model as a `.keras`
//! zip (that file as `model.weights.h5`, a Sequential `config.json` of the same layers,
//! `metadata.json`), which `keras.saving.load_model(...)` opens. The optimizer's state is not
//! written (convscope does not keep it in a model file either).

use crate::nn::spec::{Activation, LayerSpec, PaddingSpec};
use crate::nn::Sequential;
use crate::Result;
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};
use std::io::Write;

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

/// The Keras version the `.keras` files written here say they come from (the one whose files
/// the tests read, tests/fixtures/keras/cases.json).
pub const KERAS_VERSION: &str = "3.15.1";

/// The bytes of a `.keras` file of `model`: `keras.saving.load_model` builds the Sequential
/// model of the same layers with these weights.
pub fn keras_file(model: &Sequential) -> Result<Vec<u8>> {
    let config = sequential_config(model)?;
    let metadata = json!({"keras_version": KERAS_VERSION, "date_saved": "convscope"});
    let weights = keras_weights(model)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Keras stores its entries uncompressed.
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("metadata.json", metadata.to_string().into_bytes()),
        ("config.json", config.to_string().into_bytes()),
        ("model.weights.h5", weights),
    ] {
        zip.start_file(name, options)
            .and_then(|_| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| bad!("cannot write the .keras file: {e}"))?;
    }
    let out = zip
        .finish()
        .map_err(|e| bad!("cannot write the .keras file: {e}"))?;
    Ok(out.into_inner())
}

/// Keras's `config.json` of a Sequential model of `model`'s layers (the fields convscope sets;
/// Keras fills in its defaults for the rest).
pub fn sequential_config(model: &Sequential) -> Result<Value> {
    let i = model.spec().input;
    let mut layers = vec![layer(
        "InputLayer",
        json!({"batch_shape": [null, i.height, i.width, i.channels], "dtype": "float32", "name": "input_layer"}),
    )];
    for l in model.layers() {
        let padding = |p: PaddingSpec| {
            match p {
            PaddingSpec::Valid => Ok("valid"),
            PaddingSpec::Same => Ok("same"),
            PaddingSpec::Explicit(n) => Err(bad!(
                "layer {} ({}) pads {n} zeros on every side, which Keras's {} has no setting for ('valid' or 'same')",
                l.name(),
                l.plan.spec.type_name(),
                l.plan.spec.type_name()
            )),
        }
        };
        let name = l.name();
        let config = match &l.plan.spec {
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding: p,
                dilation,
                activation,
            } => json!({"name": name, "filters": filters, "kernel_size": [kernel, kernel],
                "strides": [stride, stride], "padding": padding(*p)?, "data_format": "channels_last",
                "dilation_rate": [dilation, dilation], "groups": 1,
                "activation": activation_name(*activation), "use_bias": true}),
            LayerSpec::BatchNorm { momentum, epsilon } => json!({"name": name, "axis": -1,
                "momentum": momentum, "epsilon": epsilon, "center": true, "scale": true}),
            LayerSpec::MaxPool {
                pool,
                stride,
                padding: p,
            }
            | LayerSpec::AvgPool {
                pool,
                stride,
                padding: p,
            } => json!({"name": name, "pool_size": [pool, pool], "strides": [stride, stride],
                "padding": padding(*p)?, "data_format": "channels_last"}),
            LayerSpec::Dropout { rate } => json!({"name": name, "rate": rate}),
            LayerSpec::Flatten => json!({"name": name, "data_format": "channels_last"}),
            LayerSpec::Dense { units, activation } => json!({"name": name, "units": units,
                "activation": activation_name(*activation), "use_bias": true}),
        };
        layers.push(layer(l.plan.spec.type_name(), config));
    }
    Ok(json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": true, "layers": layers},
        "registered_name": null,
    }))
}

fn layer(class: &str, config: Value) -> Value {
    json!({"module": "keras.layers", "class_name": class, "config": config, "registered_name": null})
}

fn activation_name(a: Activation) -> &'static str {
    a.name()
}
