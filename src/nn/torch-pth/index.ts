export {
  readStateDict,
  parseStateDict,
  tensorToFloat32,
  numelOf,
  type TorchDtype,
  type TorchTensor,
  type TorchTensorData,
  type StateDict,
  type ReadStateDictOptions,
  type ParseStateDictOptions,
} from './read-state-dict.js';
export { unpickle, PyGlobal, PyObject, type PyValue, type PyKey, type UnpickleOptions, type UnpickleResult } from './pickle.js';
