// Test helper: writes a generator bundle with random weights and a test PNG, or prints a
// PNG's size. Usage: make_test_bundle BUNDLE PNG W H | make_test_bundle --size PNG
#include <cstdio>
#include <string>

#include "data/image_io.h"
#include "trainer/models/bundle.h"

using namespace culturegan;

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--size") {
    const auto img = data::load_image(argv[2]);
    std::printf("%dx%d\n", img.width, img.height);
    return 0;
  }
  if (argc != 5) return 2;
  torch::manual_seed(0);
  models::StarGanSpec spec;
  spec.num_cultures = 3;
  spec.image_size = 16;
  spec.g_conv_dim = 4;
  spec.g_res_blocks = 1;
  spec.d_conv_dim = 4;
  models::StarGanGenerator g(spec);
  models::save_bundle(argv[1],
                      models::make_bundle(g, {"photo", "ukiyo_e", "chinese_ink_landscape"}));
  data::RgbImage img;
  img.width = std::stoi(argv[3]);
  img.height = std::stoi(argv[4]);
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>((i * 37) % 251);
  data::save_png(argv[2], img);
  return 0;
}
