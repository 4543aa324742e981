// Stands in for onnxruntime-node in the GPU machine's training bundle (prepare-lesion.sh):
// training never runs an ONNX model, and the 290 MB package cannot travel.
const missing = () => {
  throw new Error('onnxruntime-node is not in the GPU training bundle; evaluate on the CPU machine');
};
export const InferenceSession = { create: missing };
export class Tensor {
  constructor() {
    missing();
  }
}
export const env = {};
