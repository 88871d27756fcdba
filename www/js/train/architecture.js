// The model editor's layout (state.js parses and writes its link text) turned into the Rust
// core's ModelSpec JSON, and a ModelSpec read back into a layout when it has the editor's
// shape: conv blocks (conv 'same' + relu, optional batch norm, optional pooling 2x2,
// optional dropout), flatten, an optional hidden dense layer, the output layer.

// Sigmoid on one unit for two classes (as the chapter), softmax otherwise.
function outputLayer(classes) {
  return classes <= 2 ? { type: 'dense', units: 1, activation: 'sigmoid' } : { type: 'dense', units: classes, activation: 'softmax' };
}

export function specFromLayout(layout, input, classes) {
  const layers = [];
  for (const b of layout.blocks) {
    layers.push({ type: 'conv2d', filters: b.filters, kernel: b.kernel, padding: 'same', activation: 'relu' });
    if (b.batchNorm) layers.push({ type: 'batch_norm' });
    if (b.pool === 'max') layers.push({ type: 'max_pool', pool: 2, stride: 2 });
    if (b.pool === 'average') layers.push({ type: 'avg_pool', pool: 2, stride: 2 });
    if (b.dropout > 0) layers.push({ type: 'dropout', rate: b.dropout });
  }
  layers.push({ type: 'flatten' });
  if (layout.dense > 0) layers.push({ type: 'dense', units: layout.dense, activation: 'relu' });
  layers.push(outputLayer(classes));
  return { input: { height: input.height, width: input.width, channels: input.channels }, layers };
}

// The layout of a spec, or null when the spec has another shape (a model file made elsewhere).
export function layoutFromSpec(spec) {
  const layers = [...spec.layers];
  const blocks = [];
  const next = (type) => (layers[0] && layers[0].type === type ? layers.shift() : null);
  for (let conv = next('conv2d'); conv; conv = next('conv2d')) {
    if (conv.padding !== 'same' || conv.activation !== 'relu' || (conv.stride ?? 1) !== 1 || (conv.dilation ?? 1) !== 1) return null;
    const bn = next('batch_norm');
    const pool = next('max_pool') || next('avg_pool');
    if (pool && (pool.pool !== 2 || pool.stride !== 2)) return null;
    const drop = next('dropout');
    blocks.push({ filters: conv.filters, kernel: conv.kernel, batchNorm: !!bn, pool: pool ? (pool.type === 'max_pool' ? 'max' : 'average') : 'none', dropout: drop ? Math.round(drop.rate * 1e4) / 1e4 : 0 });
  }
  if (!next('flatten')) return null;
  let dense = 0;
  if (layers.length === 2 && layers[0].type === 'dense' && layers[0].activation === 'relu') dense = layers.shift().units;
  if (layers.length !== 1 || layers[0].type !== 'dense') return null;
  return { blocks, dense };
}
