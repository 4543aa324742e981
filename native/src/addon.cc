// N-API surface of the training addon. TypeScript owns data loading, batching, the
// epoch loop, checkpoints and export; this file only moves arrays in and out of the
// network, the loss and the optimiser. Heavy calls run on a worker thread and return
// promises, so JavaScript can prepare the next batch meanwhile.
#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include "loss.h"
#include "optimizer.h"
#include "unet.h"

namespace covseg {
namespace {

std::vector<int64_t> shapeFrom(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an array of integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < arr.Length(); i++) shape.push_back(arr.Get(i).As<Napi::Number>().Int64Value());
  return shape;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

// Copies a Float32Array (or Uint8Array, for masks) into a new CPU float tensor.
torch::Tensor tensorFrom(const Napi::Value& v, const std::vector<int64_t>& shape, const char* what) {
  auto env = v.Env();
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array or Uint8Array");
  auto ta = v.As<Napi::TypedArray>();
  if (static_cast<int64_t>(ta.ElementLength()) != numel(shape)) {
    throw Napi::RangeError::New(env, std::string(what) + ": " + std::to_string(ta.ElementLength()) +
                                         " values do not fit the shape (" + std::to_string(numel(shape)) + " needed)");
  }
  if (ta.TypedArrayType() == napi_float32_array) {
    auto f = v.As<Napi::Float32Array>();
    return torch::from_blob(f.Data(), shape, torch::kFloat32).clone();
  }
  if (ta.TypedArrayType() == napi_uint8_array) {
    auto u = v.As<Napi::Uint8Array>();
    return torch::from_blob(u.Data(), shape, torch::kUInt8).to(torch::kFloat32);
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array or Uint8Array");
}

Napi::Float32Array toFloat32Array(Napi::Env env, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  auto out = Napi::Float32Array::New(env, c.numel());
  std::memcpy(out.Data(), c.data_ptr<float>(), c.numel() * sizeof(float));
  return out;
}

Napi::Array shapeToJs(Napi::Env env, const torch::Tensor& t) {
  auto arr = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) arr.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
  return arr;
}

// Per-sample sums inside the lung mask: hard counts at threshold 0.5 (tp, fp, fn) and
// the soft sums of the Dice loss (Σp·t, Σp, Σt), so TypeScript can compute per-slice,
// per-case and whole-set Dice independent of how samples were batched.
struct StepResult {
  double loss = 0;
  std::vector<double> tp, fp, fn, intersection, predSum, targetSum;
};

std::vector<double> perSample(const torch::Tensor& t) {
  auto s = t.flatten(1).sum(1).to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

Napi::Array toJsArray(Napi::Env env, const std::vector<double>& v) {
  auto arr = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
  return arr;
}

// The losses called from JS with (prob, target, lungMask, shape, eps, reduction[, bceWeight]).
Napi::Value lossOf(const Napi::CallbackInfo& info, bool withBce) {
  auto shape = shapeFrom(info[3], "shape");
  auto p = tensorFrom(info[0], shape, "prob");
  auto t = tensorFrom(info[1], shape, "target");
  auto l = tensorFrom(info[2], shape, "lungMask");
  auto red = info[5].As<Napi::String>().Utf8Value() == "sample" ? DiceReduction::Sample : DiceReduction::Batch;
  auto eps = info[4].As<Napi::Number>().DoubleValue();
  auto loss = withBce ? trainingLoss(p, t, l, eps, red, info[6].As<Napi::Number>().DoubleValue()) : maskedDiceLoss(p, t, l, eps, red);
  return Napi::Number::New(info.Env(), loss.item<double>());
}

}  // namespace

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    auto cls = DefineClass(env, "Model",
                           {InstanceMethod("trainStep", &Model::TrainStep), InstanceMethod("evaluate", &Model::Evaluate),
                            InstanceMethod("predict", &Model::Predict), InstanceMethod("setOptimizer", &Model::SetOptimizer),
                            InstanceMethod("setLearningRate", &Model::SetLearningRate),
                            InstanceMethod("getState", &Model::GetState), InstanceMethod("setState", &Model::SetState),
                            InstanceMethod("numParameters", &Model::NumParameters)});
    exports.Set("Model", cls);
    exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
    // maskedDiceLoss(prob, target, lungMask, shape, eps, reduction) → number; the training
    // loss exposed on its own so tests can check it against hand-computed values.
    exports.Set("maskedDiceLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return lossOf(info, false); }));
    // trainingLoss(prob, target, lungMask, shape, eps, reduction, bceWeight) → number: what
    // trainStep minimises (maskedDiceLoss + bceWeight × whole-image BCE).
    exports.Set("trainingLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return lossOf(info, true); }));
    // matmulGflops(n, iterations, threads, device) → achieved GFLOP/s of an n×n float32
    // matrix product: the machine's practical peak, measured in the same process as the
    // training benchmark so the two are comparable.
    exports.Set("matmulGflops", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                  auto n = info[0].As<Napi::Number>().Int64Value();
                  auto iters = info[1].As<Napi::Number>().Int32Value();
                  auto threads = info[2].As<Napi::Number>().Int32Value();
                  bool cuda = info.Length() > 3 && info[3].As<Napi::String>().Utf8Value() == "cuda";
                  if (threads > 0) torch::set_num_threads(threads);
                  auto dev = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
                  auto a = torch::randn({n, n}, dev), b = torch::randn({n, n}, dev);
                  auto c = torch::mm(a, b);
                  if (cuda) torch::cuda::synchronize();
                  auto t0 = std::chrono::steady_clock::now();
                  for (int i = 0; i < iters; i++) c = torch::mm(a, b);
                  if (cuda) torch::cuda::synchronize();
                  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                  return Napi::Number::New(info.Env(), 2.0 * n * n * n * iters / s / 1e9);
                }));
    exports.Set("cudaAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
                }));
    return exports;
  }

  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    auto env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Model(config): config object expected");
    auto c = info[0].As<Napi::Object>();
    auto num = [&](const char* k, double d) { return c.Has(k) ? c.Get(k).As<Napi::Number>().DoubleValue() : d; };
    auto str = [&](const char* k, const char* d) { return c.Has(k) ? c.Get(k).As<Napi::String>().Utf8Value() : std::string(d); };
    UNetConfig cfg;
    cfg.dims = static_cast<int>(num("dims", 2));
    cfg.inChannels = static_cast<int>(num("inChannels", 1));
    cfg.outChannels = static_cast<int>(num("outChannels", 1));
    cfg.baseFilters = static_cast<int>(num("baseFilters", 16));
    cfg.depth = static_cast<int>(num("depth", 4));
    auto norm = str("norm", "batch");
    if (cfg.dims != 2 && cfg.dims != 3) throw Napi::RangeError::New(env, "dims must be 2 or 3");
    if (norm == "batch") cfg.norm = Norm::Batch;
    else if (norm == "instance") cfg.norm = Norm::Instance;
    else if (norm == "none") cfg.norm = Norm::None;
    else throw Napi::RangeError::New(env, "norm must be 'batch', 'instance' or 'none', got '" + norm + "'");
    threads_ = static_cast<int>(num("threads", 0));
    if (threads_ > 0) torch::set_num_threads(threads_);
    lossEps_ = num("lossEps", 1e-6);
    bceWeight_ = num("bceWeight", 0);
    if (bceWeight_ < 0) throw Napi::RangeError::New(env, "bceWeight must be ≥ 0");
    auto red = str("diceReduction", "batch");
    if (red == "batch") reduction_ = DiceReduction::Batch;
    else if (red == "sample") reduction_ = DiceReduction::Sample;
    else throw Napi::RangeError::New(env, "diceReduction must be 'batch' or 'sample', got '" + red + "'");
    auto device = str("device", "cpu");
    if (device == "cuda") {
      if (!torch::cuda::is_available()) {
        throw Napi::Error::New(env, "device 'cuda' requested but this libtorch has no usable CUDA (build the addon against a CUDA libtorch with LIBTORCH_DIR)");
      }
      device_ = torch::Device(torch::kCUDA);
    } else if (device != "cpu") {
      throw Napi::RangeError::New(env, "device must be 'cpu' or 'cuda', got '" + device + "'");
    }
    torch::manual_seed(static_cast<uint64_t>(num("seed", 0)));
    net_ = UNet(cfg);
    net_->to(device_);
    optimizer_ = std::make_unique<Optimizer>(namedParams(), OptimizerConfig{});
  }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> namedParams() {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& item : net_->named_parameters()) out.emplace_back(item.key(), item.value());
    return out;
  }

  // One batch through the network. train = forward + backward + optimiser step.
  StepResult run(torch::Tensor image, torch::Tensor target, torch::Tensor lung, bool train) {
    if (threads_ > 0) torch::set_num_threads(threads_);
    image = image.to(device_);
    target = target.to(device_);
    lung = lung.to(device_);
    StepResult r;
    torch::Tensor prob;
    if (train) {
      net_->train();
      optimizer_->zeroGrad();
      prob = torch::sigmoid(net_->forward(image));
      auto loss = trainingLoss(prob, target, lung, lossEps_, reduction_, bceWeight_);
      loss.backward();
      optimizer_->step();
      r.loss = loss.item<double>();
    } else {
      torch::NoGradGuard noGrad;
      net_->eval();
      prob = torch::sigmoid(net_->forward(image));
      r.loss = trainingLoss(prob, target, lung, lossEps_, reduction_, bceWeight_).item<double>();
    }
    torch::NoGradGuard noGrad;
    // The reported sums and counts are inside the mask, unweighted (a weight only shapes the loss).
    lung = (lung > 0).to(torch::kFloat32);
    auto p = prob.detach() * lung;
    auto tl = target * lung;
    r.intersection = perSample(p * tl);
    r.predSum = perSample(p);
    r.targetSum = perSample(tl);
    auto pred = (prob.detach() > 0.5).to(torch::kFloat32) * lung;
    auto t = (target > 0.5).to(torch::kFloat32) * lung;
    r.tp = perSample(pred * t);
    r.fp = perSample(pred * (1 - t));
    r.fn = perSample((1 - pred) * t);
    return r;
  }

  // Runs `compute` on a libuv worker thread and settles a promise with `toJs(result)`;
  // the model counts as busy until then (one heavy call at a time per model).
  template <typename Result>
  class ModelWorker : public Napi::AsyncWorker {
   public:
    ModelWorker(Napi::Env env, Model* m, std::function<Result()> compute, std::function<Napi::Value(Napi::Env, const Result&)> toJs)
        : Napi::AsyncWorker(env), m_(m), compute_(std::move(compute)), toJs_(std::move(toJs)), deferred_(Napi::Promise::Deferred::New(env)) {}
    void Execute() override {
      try {
        result_ = compute_();
      } catch (const std::exception& e) {
        SetError(e.what());
      }
    }
    void OnOK() override {
      m_->busy_ = false;
      deferred_.Resolve(toJs_(Env(), result_));
    }
    void OnError(const Napi::Error& e) override {
      m_->busy_ = false;
      deferred_.Reject(e.Value());
    }
    Napi::Promise promise() { return deferred_.Promise(); }

   private:
    Model* m_;
    std::function<Result()> compute_;
    std::function<Napi::Value(Napi::Env, const Result&)> toJs_;
    Result result_;
    Napi::Promise::Deferred deferred_;
  };

  template <typename Result>
  Napi::Value queue(Napi::Env env, std::function<Result()> compute, std::function<Napi::Value(Napi::Env, const Result&)> toJs) {
    claim(env);
    auto* w = new ModelWorker<Result>(env, this, std::move(compute), std::move(toJs));
    auto p = w->promise();
    w->Queue();
    return p;
  }

  void claim(Napi::Env env) {
    if (busy_) throw Napi::Error::New(env, "the model is busy: await the previous trainStep/evaluate/predict first");
    busy_ = true;
  }

  // trainStep(image, target, lungMask, shape) → Promise<{loss, tp[], fp[], fn[], intersection[], predSum[], targetSum[]}>
  Napi::Value Step(const Napi::CallbackInfo& info, bool train) {
    auto env = info.Env();
    auto shape = shapeFrom(info[3], "shape");
    auto image = tensorFrom(info[0], shape, "image");
    auto maskShape = shape;
    maskShape[1] = 1;
    auto target = tensorFrom(info[1], maskShape, "target");
    auto lung = tensorFrom(info[2], maskShape, "lungMask");
    return queue<StepResult>(
        env, [=]() { return run(image, target, lung, train); },
        [](Napi::Env env, const StepResult& r) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("loss", r.loss);
          o.Set("tp", toJsArray(env, r.tp));
          o.Set("fp", toJsArray(env, r.fp));
          o.Set("fn", toJsArray(env, r.fn));
          o.Set("intersection", toJsArray(env, r.intersection));
          o.Set("predSum", toJsArray(env, r.predSum));
          o.Set("targetSum", toJsArray(env, r.targetSum));
          return o;
        });
  }
  Napi::Value TrainStep(const Napi::CallbackInfo& info) { return Step(info, true); }
  Napi::Value Evaluate(const Napi::CallbackInfo& info) { return Step(info, false); }

  // predict(image, shape) → Promise<Float32Array> of sigmoid probabilities
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto image = tensorFrom(info[0], shapeFrom(info[1], "shape"), "image");
    return queue<torch::Tensor>(
        env,
        [=]() {
          if (threads_ > 0) torch::set_num_threads(threads_);
          torch::NoGradGuard noGrad;
          net_->eval();
          return torch::sigmoid(net_->forward(image.to(device_))).to(torch::kCPU).contiguous();
        },
        [](Napi::Env env, const torch::Tensor& prob) -> Napi::Value { return toFloat32Array(env, prob); });
  }

  // setOptimizer({type: 'sgd'|'adam', lr, momentum, nesterov, weightDecay, beta1, beta2, eps})
  Napi::Value SetOptimizer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto c = info[0].As<Napi::Object>();
    auto num = [&](const char* k, double d) { return c.Has(k) ? c.Get(k).As<Napi::Number>().DoubleValue() : d; };
    OptimizerConfig cfg;
    auto type = c.Has("type") ? c.Get("type").As<Napi::String>().Utf8Value() : std::string("sgd");
    if (type == "sgd") cfg.kind = OptimizerKind::Sgd;
    else if (type == "adam") cfg.kind = OptimizerKind::Adam;
    else throw Napi::RangeError::New(env, "optimizer type must be 'sgd' or 'adam', got '" + type + "'");
    cfg.lr = num("lr", cfg.lr);
    cfg.momentum = num("momentum", cfg.momentum);
    cfg.nesterov = c.Has("nesterov") && c.Get("nesterov").ToBoolean().Value();
    cfg.weightDecay = num("weightDecay", 0);
    cfg.beta1 = num("beta1", cfg.beta1);
    cfg.beta2 = num("beta2", cfg.beta2);
    cfg.eps = num("eps", cfg.eps);
    optimizer_ = std::make_unique<Optimizer>(namedParams(), cfg);
    return env.Undefined();
  }

  Napi::Value SetLearningRate(const Napi::CallbackInfo& info) {
    optimizer_->setLearningRate(info[0].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
  }

  // getState() → { tensors: { name: { shape, data: Float32Array } }, optimizerSteps }
  // Names: parameters and buffers as in the network ("enc0.conv1.weight",
  // "enc0.norm1.running_mean"), optimiser buffers prefixed ("momentum.", "adam_m.").
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy_) throw Napi::Error::New(env, "the model is busy");
    auto tensors = Napi::Object::New(env);
    auto put = [&](const std::string& name, const torch::Tensor& t) {
      auto o = Napi::Object::New(env);
      o.Set("shape", shapeToJs(env, t));
      o.Set("data", toFloat32Array(env, t));
      tensors.Set(name, o);
    };
    for (auto& item : net_->named_parameters()) put(item.key(), item.value());
    for (auto& item : net_->named_buffers()) put(item.key(), item.value());
    for (auto& [name, t] : optimizer_->buffers()) put(name, t);
    auto out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("optimizerSteps", Napi::Number::New(env, static_cast<double>(optimizer_->steps())));
    return out;
  }

  // setState({ tensors, optimizerSteps? }): every network tensor must be present with
  // its exact shape; optimiser buffers are optional (absent = fresh optimiser state).
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy_) throw Napi::Error::New(env, "the model is busy");
    auto state = info[0].As<Napi::Object>();
    auto tensors = state.Get("tensors").As<Napi::Object>();
    torch::NoGradGuard noGrad;
    auto load = [&](const std::string& name, torch::Tensor& dst) {
      if (!tensors.Has(name)) throw Napi::Error::New(env, "state has no tensor '" + name + "'");
      auto o = tensors.Get(name).As<Napi::Object>();
      auto shape = shapeFrom(o.Get("shape"), ("shape of " + name).c_str());
      if (shape != dst.sizes().vec()) throw Napi::Error::New(env, "tensor '" + name + "' has the wrong shape for this network");
      dst.copy_(tensorFrom(o.Get("data"), shape, name.c_str()).to(dst.device()));
    };
    for (auto& item : net_->named_parameters()) load(item.key(), item.value());
    for (auto& item : net_->named_buffers()) load(item.key(), item.value());
    auto& bufs = optimizer_->buffers();
    bufs.clear();
    auto names = tensors.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      auto name = names.Get(i).As<Napi::String>().Utf8Value();
      if (name.rfind("momentum.", 0) != 0 && name.rfind("adam_m.", 0) != 0 && name.rfind("adam_v.", 0) != 0) continue;
      auto o = tensors.Get(name).As<Napi::Object>();
      auto shape = shapeFrom(o.Get("shape"), name.c_str());
      bufs[name] = tensorFrom(o.Get("data"), shape, name.c_str()).to(device_);
    }
    if (state.Has("optimizerSteps")) optimizer_->setSteps(state.Get("optimizerSteps").As<Napi::Number>().Int64Value());
    return env.Undefined();
  }

  Napi::Value NumParameters(const Napi::CallbackInfo& info) {
    int64_t n = 0;
    for (auto& p : net_->parameters()) n += p.numel();
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  }

  UNet net_{nullptr};
  std::unique_ptr<Optimizer> optimizer_;
  torch::Device device_{torch::kCPU};
  int threads_ = 0;
  double lossEps_ = 1e-6;
  double bceWeight_ = 0;
  DiceReduction reduction_ = DiceReduction::Batch;
  std::atomic<bool> busy_{false};
};

}  // namespace covseg

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return covseg::Model::Init(env, exports); }

NODE_API_MODULE(covseg_torch, InitAll)
