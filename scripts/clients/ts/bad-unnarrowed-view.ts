// An answer may be the compact view (the same fields, no texts): reading a text before narrowing on
// `view` must not compile.
import type { Decision } from "./requests";

export function firstText(d: Decision): string | undefined {
  return d.actions[0]?.text; // error expected
}
