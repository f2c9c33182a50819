// The rich Thrift demo: every shape a generic Thrift client must handle
// (every base type, binary, containers with non-string keys, nested structs,
// unions, enums, typedefs, consts, includes, declared exceptions, oneway,
// and a service that extends another).
include "shapes.thrift"

namespace rs aduib.demo

typedef i64 Millis

const i32 MAX_ITEMS = 100

enum Color {
  RED = 1,
  GREEN = 2,
  BLUE = 3,
}

struct Inner {
  1: string label,
  2: list<string> tags,
  3: optional shapes.Point point,
}

union Choice {
  1: string text,
  2: i32 number,
  3: Inner nested,
}

exception DemoError {
  1: i32 code,
  2: string message,
}

struct Rich {
  1: required string id,
  2: bool flag,
  3: byte tiny,
  4: i16 small,
  5: i32 medium,
  6: i64 big,
  7: double ratio,
  8: string name,
  9: binary blob,
  10: Color color,
  11: list<i32> numbers,
  12: set<string> labels,
  13: map<string, i64> counts,
  14: map<i32, Inner> by_id,
  15: map<Inner, string> by_inner,
  16: Inner inner,
  17: optional Choice choice,
  18: optional Millis at,
}

service BaseService {
  string ping(),
}

service RichService extends BaseService {
  // Returns the struct it was sent.
  Rich echo(1: Rich rich),
  // a + b, or DemoError 1 when it overflows.
  i64 add(1: i64 a, 2: i64 b) throws (1: DemoError error),
  // Always throws DemoError with the given code.
  void fail(1: i32 code) throws (1: DemoError error),
  // No reply.
  oneway void notify(1: string message),
}
