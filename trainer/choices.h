// The config's string choices as enums (parsed once at load; trainer/config_schema.cpp maps
// names to values). No dependencies, so losses and algorithms can use them without the config.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace culturegan::trainer {

/// model.kind: which GAN algorithm (trainer/algorithms/).
enum class ModelKind { kStargan, kStarganV2, kDcgan, kCycleGan };
/// loss.adversarial (trainer/algorithms/losses.h).
enum class AdversarialLoss { kLsgan, kBce, kHinge, kWgan };
/// train.device.
enum class DeviceChoice { kAuto, kCpu, kCuda };
/// train.non_finite.
enum class NonFinitePolicy { kStop, kSkip };
/// train.precision: the forward passes' arithmetic (weights, optimizer state, gradients,
/// losses and EMA stay float32).
enum class Precision { kFp32, kBf16 };
/// distributed.backend.
enum class BackendChoice { kAuto, kMpi, kNccl };
/// model.conditioning (values = models::StarGanSpec::conditioning).
enum class Conditioning { kPlanes = 0, kCin = 1 };
/// model.upsample (values = the models' upsample modes, models/upsample.h).
enum class Upsample { kTransposed = 0, kNearest = 1, kBilinear = 2 };

/// The config names: "stargan", "lsgan", "auto", "stop", "mpi", ...
std::string to_string(ModelKind v);
std::string to_string(AdversarialLoss v);
std::string to_string(DeviceChoice v);
std::string to_string(NonFinitePolicy v);
std::string to_string(Precision v);
std::string to_string(BackendChoice v);
std::string to_string(Conditioning v);
std::string to_string(Upsample v);

}  // namespace culturegan::trainer

namespace culturegan::trainer {

/// Every value of a choice enum with its config name, in documentation order.
template <typename E>
const std::vector<std::pair<std::string, E>>& choice_names();
// The specialisations (choices.cpp), declared before any use as the language requires.
template <>
const std::vector<std::pair<std::string, ModelKind>>& choice_names<ModelKind>();
template <>
const std::vector<std::pair<std::string, AdversarialLoss>>& choice_names<AdversarialLoss>();
template <>
const std::vector<std::pair<std::string, DeviceChoice>>& choice_names<DeviceChoice>();
template <>
const std::vector<std::pair<std::string, NonFinitePolicy>>& choice_names<NonFinitePolicy>();
template <>
const std::vector<std::pair<std::string, Precision>>& choice_names<Precision>();
template <>
const std::vector<std::pair<std::string, BackendChoice>>& choice_names<BackendChoice>();
template <>
const std::vector<std::pair<std::string, Conditioning>>& choice_names<Conditioning>();
template <>
const std::vector<std::pair<std::string, Upsample>>& choice_names<Upsample>();

}  // namespace culturegan::trainer
