// Included by rich.thrift, to exercise includes and qualified names.
namespace rs aduib.demo.shapes

struct Point {
  1: double x,
  2: double y,
}
