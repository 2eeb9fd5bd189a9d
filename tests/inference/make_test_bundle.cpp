// Test helper: writes a generator bundle with random weights and a test PNG, or prints a
// PNG's size. Usage: make_test_bundle BUNDLE PNG W H [stargan|starganv2|cyclegan|dcgan]
//                    make_test_bundle --size PNG
// Cultures: photo, ukiyo_e, chinese_ink_landscape (cyclegan: photo, ukiyo_e); image size 16.
#include <cstdio>
#include <string>

#include "data/image_io.h"
#include "models/bundle.h"
#include "tests/models/small_spec.h"

using namespace culturegan;

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--size") {
    const auto img = data::load_image(argv[2]);
    std::printf("%dx%d\n", img.width, img.height);
    return 0;
  }
  if (argc != 5 && argc != 6) return 2;
  const std::string model = argc == 6 ? argv[5] : "stargan";
  const std::vector<std::string> cultures{"photo", "ukiyo_e", "chinese_ink_landscape"};
  torch::manual_seed(0);
  if (model == "stargan") {
    models::StarGanGenerator g(culturegan::testing::small_spec(16, 3));
    models::save_bundle(argv[1], models::make_bundle(g, cultures));
  } else if (model == "starganv2") {
    models::StarGanV2Spec spec;
    spec.num_cultures = 3;
    spec.image_size = 16;
    spec.g_conv_dim = 4;
    spec.g_res_blocks = 1;
    spec.d_conv_dim = 4;
    spec.z_dim = 4;
    spec.style_dim = 8;
    models::StarGanV2Generator g(spec);
    models::StarGanV2Mapping f(spec);
    models::StarGanV2Trunk e(spec, spec.style_dim);
    models::save_bundle(argv[1], models::make_starganv2_bundle(spec, *g, *f, *e, cultures));
  } else if (model == "cyclegan") {
    models::ResnetGenerator g_ab(4, 1), g_ba(4, 1);
    models::save_bundle(argv[1],
                        models::make_cyclegan_bundle(16, 4, 1, *g_ab, *g_ba, {"photo", "ukiyo_e"}));
  } else if (model == "dcgan") {
    models::DcganSpec spec;
    spec.num_cultures = 3;
    spec.image_size = 16;
    spec.z_dim = 4;
    spec.g_conv_dim = 4;
    models::DcganGenerator g(spec);
    models::save_bundle(argv[1], models::make_dcgan_bundle(spec, *g, cultures));
  } else {
    return 2;
  }
  data::RgbImage img;
  img.width = std::stoi(argv[3]);
  img.height = std::stoi(argv[4]);
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>((i * 37) % 251);
  data::save_png(argv[2], img);
  return 0;
}
