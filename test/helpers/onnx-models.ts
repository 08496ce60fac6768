import { attribute, encodeModel, floatTensor, ML_DOMAIN, node, valueInfo } from '../../electron/engine/models/onnx-writer.js';

/**
 * ONNX files shaped like real exports, built in code. skl2onnx is a Python package we cannot
 * install here, so `sklearnStyleLogistic` reproduces the graph skl2onnx writes for a binary
 * LogisticRegression with its default options: LinearClassifier → Normalizer → ZipMap.
 */
export function sklearnStyleLogistic(coef: number[], intercept: number, labels: number[] | string[] = [0, 1]): Uint8Array {
  const f = coef.length;
  // skl2onnx keeps the training labels: integers, or strings (then the label output is a string tensor).
  const text = typeof labels[0] === 'string';
  const classAttr = (name: 'classlabels' | 'zip'): ReturnType<typeof attribute> =>
    text ? attribute('classlabels_strings', labels as string[]) : attribute(name === 'zip' ? 'classlabels_int64s' : 'classlabels_ints', labels as number[]);
  return encodeModel({
    name: 'LogisticRegression',
    node: [
      node('LinearClassifier', ['float_input'], ['label', 'probability_tensor'], [
        classAttr('classlabels'), attribute('coefficients', { floats: [...coef.map((c) => -c), ...coef] }),
        attribute('intercepts', { floats: [-intercept, intercept] }), attribute('multi_class', 0), attribute('post_transform', 'LOGISTIC'),
      ], ML_DOMAIN),
      node('Normalizer', ['probability_tensor'], ['probabilities'], [attribute('norm', 'L1')], ML_DOMAIN),
      text ? node('Identity', ['label'], ['output_label']) : node('Cast', ['label'], ['output_label'], [attribute('to', 7)]),
      node('ZipMap', ['probabilities'], ['output_probability'], [classAttr('zip')], ML_DOMAIN),
    ],
    input: [valueInfo('float_input', ['N', f])],
    output: [
      valueInfo('output_label', ['N'], text ? 8 : 7),
      { name: 'output_probability', type: { sequenceType: { elemType: { mapType: { keyType: text ? 8 : 7, valueType: { tensorType: { elemType: 1 } } } } } } },
    ],
  }, 'skl2onnx');
}

/** A model whose output is NaN for every row (log of a negative number). */
export function nanModel(features: number): Uint8Array {
  return encodeModel({
    name: 'nan',
    node: [node('ReduceSum', ['features', 'axes'], ['sum'], [attribute('keepdims', 1)]), node('Neg', ['sum'], ['neg']), node('Abs', ['neg'], ['abs']), node('Neg', ['abs'], ['negabs']), node('Sub', ['negabs', 'one'], ['below']), node('Log', ['below'], ['risk'])],
    initializer: [floatTensor('one', [1], [1]), { name: 'axes', dims: [1], dataType: 7, int64Data: [1] }],
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

/** Slice(features, starts, ends, axes) takes the first column: [N, F] → [N, 1]. */
const FIRST_COLUMN = [
  { name: 'starts', dims: [1], dataType: 7, int64Data: [0] }, { name: 'ends', dims: [1], dataType: 7, int64Data: [1] },
  { name: 'axes', dims: [1], dataType: 7, int64Data: [1] },
];

/** A model that returns the first feature as its score (for checking feature order and routing). */
export function firstFeatureModel(features: number): Uint8Array {
  return encodeModel({
    name: 'first',
    node: [node('Slice', ['features', 'starts', 'ends', 'axes'], ['risk'])],
    initializer: FIRST_COLUMN,
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

/** risk = sqrt(x0 − 2) / 10: NaN for rows whose first feature is below 2, a score elsewhere. */
export function partlyNanModel(features: number): Uint8Array {
  return encodeModel({
    name: 'partly-nan',
    node: [
      node('Slice', ['features', 'starts', 'ends', 'axes'], ['first']), node('Sub', ['first', 'two'], ['shifted']),
      node('Sqrt', ['shifted'], ['root']), node('Div', ['root', 'ten'], ['risk']),
    ],
    initializer: [...FIRST_COLUMN, floatTensor('two', [1], [2]), floatTensor('ten', [1], [10])],
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

/** Outputs [N, 2] probabilities (1 − p, p) with p = first feature, and the same p as [N]. */
export function twoColumnModel(features: number): Uint8Array {
  return encodeModel({
    name: 'two-column',
    node: [
      node('Slice', ['features', 'starts', 'ends', 'axes'], ['p']), node('Sub', ['one', 'p'], ['q']), node('Concat', ['q', 'p'], ['probs'], [attribute('axis', 1)]),
      node('Squeeze', ['p', 'axes'], ['flat']),
    ],
    initializer: [...FIRST_COLUMN, floatTensor('one', [1], [1])],
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('probs', ['N', 2]), valueInfo('flat', ['N'])],
  });
}

/**
 * A window detector as ONNX: input [N, W] (or [N, 1, W] with `rank3`), output [N, 1] = how many
 * spreads the window's last value lies from the mean of the window. The graph a team would export
 * from a small numpy/torch model.
 */
export function windowZModel(w: number, options: { rank3?: boolean; output?: string } = {}): Uint8Array {
  const flat = options.rank3 ? [node('Reshape', ['window', 'shape2d'], ['x'])] : [node('Identity', ['window'], ['x'])];
  return encodeModel({
    name: 'window-z',
    node: [
      ...flat,
      node('ReduceMean', ['x'], ['mean'], [attribute('axes', [1]), attribute('keepdims', 1)]),
      node('Sub', ['x', 'mean'], ['centred']),
      node('Mul', ['centred', 'centred'], ['sq']),
      node('ReduceMean', ['sq'], ['var'], [attribute('axes', [1]), attribute('keepdims', 1)]),
      node('Add', ['var', 'eps'], ['var_eps']),
      node('Sqrt', ['var_eps'], ['sd']),
      node('Gather', ['centred', 'last'], ['last_centred'], [attribute('axis', 1)]),
      node('Div', ['last_centred', 'sd'], [options.output ?? 'score']),
    ],
    initializer: [
      floatTensor('eps', [1], [1e-6]),
      { name: 'last', dims: [1], dataType: 7, int64Data: [w - 1] },
      ...(options.rank3 ? [{ name: 'shape2d', dims: [2], dataType: 7, int64Data: [-1, w] }] : []),
    ],
    input: [valueInfo('window', options.rank3 ? ['N', 1, w] : ['N', w])],
    output: [valueInfo(options.output ?? 'score', ['N', 1])],
  }, 'pytorch');
}

/** score = features · weights: a linear ranking model, input [N, F], output [N, 1]. */
export function linearModel(weights: number[]): Uint8Array {
  return encodeModel({
    name: 'linear',
    node: [node('MatMul', ['features', 'w'], ['score'])],
    initializer: [floatTensor('w', [weights.length, 1], weights)],
    input: [valueInfo('features', ['N', weights.length])],
    output: [valueInfo('score', ['N', 1])],
  });
}

/**
 * risk = first feature + 0 · sum(bytes of `location`): a model whose weights live in an external
 * file (ONNX "external data"), which onnxruntime reads relative to the working directory. With
 * `inSubgraph` the external tensor sits in a Constant node inside an If branch instead.
 */
export function externalDataModel(features: number, location: string, inSubgraph = false): Uint8Array {
  const secret = { name: 'secret', dims: [4], dataType: 2, dataLocation: 1, externalData: [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: '4' }] };
  const tail = [
    node('Cast', ['secret'], ['secret_f'], [attribute('to', 1)]),
    node('ReduceSum', ['secret_f'], ['sum'], [attribute('keepdims', 0)]),
    node('Mul', ['sum', 'zero'], ['nothing']),
    node('Slice', ['features', 'starts', 'ends', 'axes'], ['first']),
    node('Add', ['first', 'nothing'], ['risk']),
  ];
  const zero = floatTensor('zero', [], [0]);
  if (!inSubgraph) {
    return encodeModel({ name: 'external', node: tail, initializer: [secret, zero, ...FIRST_COLUMN], input: [valueInfo('features', ['N', features])], output: [valueInfo('risk', ['N', 1])] });
  }
  const branch = { name: 'branch', node: [node('Constant', [], ['secret'], [{ name: 'value', type: 4, t: secret }])], output: [valueInfo('secret', [4], 2)] };
  return encodeModel({
    name: 'external-in-if',
    node: [node('If', ['cond'], ['secret'], [{ name: 'then_branch', type: 5, g: branch }, { name: 'else_branch', type: 5, g: branch }]), ...tail],
    initializer: [{ name: 'cond', dims: [], dataType: 9, int32Data: [1] }, zero, ...FIRST_COLUMN],
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

/**
 * Throws on some rows only, the way a lookup table does when a value falls outside it: risk 0.3
 * where the first feature is 50, and onnxruntime's "out of bounds" error where it is 0.
 */
export function partlyThrowingModel(features: number): Uint8Array {
  return encodeModel({
    name: 'partly-throwing',
    node: [
      node('Slice', ['features', 'starts', 'ends', 'axes'], ['first']), node('Div', ['first', 'fifty'], ['ratio']), node('Sub', ['one', 'ratio'], ['k']),
      node('Cast', ['k'], ['index'], [attribute('to', 7 /* INT64 */)]), node('Gather', ['table', 'index'], ['risk'], [attribute('axis', 0)]),
    ],
    initializer: [...FIRST_COLUMN, floatTensor('fifty', [1], [50]), floatTensor('one', [1], [1]), floatTensor('table', [1], [0.3])],
    input: [valueInfo('features', ['N', features])],
    output: [valueInfo('risk', ['N', 1])],
  });
}

/** Takes float64 rows, as skl2onnx writes a model exported with DoubleTensorType; returns the first feature. */
export function doubleInputModel(features: number): Uint8Array {
  return encodeModel({
    name: 'double-input',
    node: [node('Cast', ['features'], ['asFloat'], [attribute('to', 1 /* FLOAT */)]), node('Slice', ['asFloat', 'starts', 'ends', 'axes'], ['risk'])],
    initializer: FIRST_COLUMN,
    input: [valueInfo('features', ['N', features], 11 /* DOUBLE */)],
    output: [valueInfo('risk', ['N', 1])],
  });
}
