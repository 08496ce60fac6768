import onnxProto, { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS; under ESM its namespace object is the default export.
const { onnx } = onnxProto;

/**
 * Writes ONNX models with onnx-proto: the in-app logistic regression (so it can be handed to
 * others and re-imported), tree ensembles, and the graphs the tests need. Only what we emit is
 * covered; reading arbitrary models is onnxruntime's job.
 */

const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const ML_DOMAIN = 'ai.onnx.ml';

export function floatTensor(name: string, dims: number[], values: readonly number[]): Onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: [...values] };
}

export function valueInfo(name: string, dims: Array<number | string>, elemType: number = FLOAT): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

type AttrValue = number | string | number[] | string[] | { floats: number[] } | { ints: number[] };

export function attribute(name: string, value: AttrValue): Onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: A.INT, i: value } : { name, type: A.FLOAT, f: value };
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (!Array.isArray(value)) return 'floats' in value ? { name, type: A.FLOATS, floats: value.floats } : { name, type: A.INTS, ints: value.ints };
  if (value.length > 0 && typeof value[0] === 'string') return { name, type: A.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
  return { name, type: A.INTS, ints: value as number[] };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Onnx.IAttributeProto[] = [], domain = ''): Onnx.INodeProto {
  return { opType, input: inputs, output: outputs, attribute: attrs, domain, name: `${opType}_${outputs[0]}` };
}

export function encodeModel(graph: Onnx.IGraphProto, producer = 'shadowbench'): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: producer,
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: 17 }, { domain: ML_DOMAIN, version: 3 }],
    graph,
  }).finish();
}

export function decodeModel(bytes: Uint8Array): Onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Logistic regression as a plain ONNX graph: input `features` [N, F] → (sign·log1p) →
 * standardise → MatMul → Add → Sigmoid → output `risk` [N, 1].
 */
export function logisticToOnnx(model: { features: string[]; log1p: boolean; mean: number[]; scale: number[]; coef: number[]; intercept: number }): Uint8Array {
  const f = model.features.length;
  const nodes: Onnx.INodeProto[] = [];
  let x = 'features';
  if (model.log1p) {
    nodes.push(node('Abs', ['features'], ['abs']), node('Add', ['abs', 'one'], ['abs1']), node('Log', ['abs1'], ['log1p_abs']), node('Sign', ['features'], ['sign']), node('Mul', ['sign', 'log1p_abs'], ['logged']));
    x = 'logged';
  }
  nodes.push(
    node('Sub', [x, 'mean'], ['centred']),
    node('Div', ['centred', 'scale'], ['standardised']),
    node('MatMul', ['standardised', 'coef'], ['linear']),
    node('Add', ['linear', 'intercept'], ['logit']),
    node('Sigmoid', ['logit'], ['risk']),
  );
  return encodeModel({
    name: 'shadowbench_logistic',
    node: nodes,
    initializer: [
      floatTensor('mean', [f], model.mean), floatTensor('scale', [f], model.scale), floatTensor('coef', [f, 1], model.coef),
      floatTensor('intercept', [1], [model.intercept]), floatTensor('one', [1], [1]),
    ],
    input: [valueInfo('features', ['N', f])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

export interface TreeNode { feature: number; threshold: number; left: number; right: number; value: number; leaf: boolean }

/**
 * A boosted tree ensemble (logistic loss) as TreeEnsembleRegressor summing the trees' margins,
 * then Sigmoid: input `features` [N, F] → output `risk` [N, 1].
 */
export function treesToOnnx(trees: TreeNode[][], baseMargin: number, featureCount: number): Uint8Array {
  const a = {
    treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], values: [] as number[], modes: [] as string[],
    trueIds: [] as number[], falseIds: [] as number[], tTree: [] as number[], tNode: [] as number[], tWeights: [] as number[],
  };
  trees.forEach((tree, t) => tree.forEach((n, i) => {
    a.treeIds.push(t);
    a.nodeIds.push(i);
    a.featureIds.push(n.leaf ? 0 : n.feature);
    a.values.push(n.leaf ? 0 : n.threshold);
    a.modes.push(n.leaf ? 'LEAF' : 'BRANCH_LEQ');
    a.trueIds.push(n.leaf ? 0 : n.left);
    a.falseIds.push(n.leaf ? 0 : n.right);
    if (n.leaf) {
      a.tTree.push(t);
      a.tNode.push(i);
      a.tWeights.push(n.value);
    }
  }));
  return encodeModel({
    name: 'shadowbench_trees',
    node: [
      node('TreeEnsembleRegressor', ['features'], ['margin'], [
        attribute('n_targets', 1), attribute('aggregate_function', 'SUM'), attribute('base_values', { floats: [baseMargin] }),
        attribute('nodes_treeids', a.treeIds), attribute('nodes_nodeids', a.nodeIds), attribute('nodes_featureids', a.featureIds),
        attribute('nodes_values', { floats: a.values }), attribute('nodes_modes', a.modes), attribute('nodes_truenodeids', a.trueIds),
        attribute('nodes_falsenodeids', a.falseIds), attribute('target_treeids', a.tTree), attribute('target_nodeids', a.tNode),
        attribute('target_ids', a.tTree.map(() => 0)), attribute('target_weights', { floats: a.tWeights }),
      ], ML_DOMAIN),
      node('Sigmoid', ['margin'], ['risk']),
    ],
    input: [valueInfo('features', ['N', featureCount])],
    output: [valueInfo('risk', ['N', 1])],
  });
}
