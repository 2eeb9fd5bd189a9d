#include "trainer/choices.h"

namespace culturegan::trainer {

template <>
const std::vector<std::pair<std::string, ModelKind>>& choice_names() {
  static const std::vector<std::pair<std::string, ModelKind>> v = {
      {"stargan", ModelKind::kStargan},
      {"starganv2", ModelKind::kStarganV2},
      {"dcgan", ModelKind::kDcgan},
      {"cyclegan", ModelKind::kCycleGan}};
  return v;
}
template <>
const std::vector<std::pair<std::string, AdversarialLoss>>& choice_names() {
  static const std::vector<std::pair<std::string, AdversarialLoss>> v = {
      {"lsgan", AdversarialLoss::kLsgan},
      {"bce", AdversarialLoss::kBce},
      {"hinge", AdversarialLoss::kHinge},
      {"wgan-gp", AdversarialLoss::kWgan}};
  return v;
}
template <>
const std::vector<std::pair<std::string, DeviceChoice>>& choice_names() {
  static const std::vector<std::pair<std::string, DeviceChoice>> v = {
      {"auto", DeviceChoice::kAuto}, {"cpu", DeviceChoice::kCpu}, {"cuda", DeviceChoice::kCuda}};
  return v;
}
template <>
const std::vector<std::pair<std::string, NonFinitePolicy>>& choice_names() {
  static const std::vector<std::pair<std::string, NonFinitePolicy>> v = {
      {"stop", NonFinitePolicy::kStop}, {"skip", NonFinitePolicy::kSkip}};
  return v;
}
template <>
const std::vector<std::pair<std::string, Precision>>& choice_names() {
  static const std::vector<std::pair<std::string, Precision>> v = {{"fp32", Precision::kFp32},
                                                                   {"bf16", Precision::kBf16}};
  return v;
}
template <>
const std::vector<std::pair<std::string, BackendChoice>>& choice_names() {
  static const std::vector<std::pair<std::string, BackendChoice>> v = {
      {"auto", BackendChoice::kAuto}, {"mpi", BackendChoice::kMpi}, {"nccl", BackendChoice::kNccl}};
  return v;
}

template <>
const std::vector<std::pair<std::string, Conditioning>>& choice_names() {
  static const std::vector<std::pair<std::string, Conditioning>> v = {
      {"cin", Conditioning::kCin}, {"planes", Conditioning::kPlanes}};
  return v;
}
template <>
const std::vector<std::pair<std::string, Upsample>>& choice_names() {
  static const std::vector<std::pair<std::string, Upsample>> v = {
      {"nearest", Upsample::kNearest},
      {"bilinear", Upsample::kBilinear},
      {"transposed", Upsample::kTransposed}};
  return v;
}

namespace {
template <typename E>
std::string name_of(E value) {
  for (const auto& [name, v] : choice_names<E>())
    if (v == value) return name;
  return "?";
}
}  // namespace

std::string to_string(ModelKind v) { return name_of(v); }
std::string to_string(AdversarialLoss v) { return name_of(v); }
std::string to_string(DeviceChoice v) { return name_of(v); }
std::string to_string(NonFinitePolicy v) { return name_of(v); }
std::string to_string(Precision v) { return name_of(v); }
std::string to_string(BackendChoice v) { return name_of(v); }
std::string to_string(Conditioning v) { return name_of(v); }
std::string to_string(Upsample v) { return name_of(v); }

}  // namespace culturegan::trainer
