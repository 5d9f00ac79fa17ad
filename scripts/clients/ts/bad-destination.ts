// A destination that is a number, not an address, must not compile.
import type { DecisionBody } from "./requests";

export const numeric: DecisionBody = {
  refund_type: "refund_only",
  requested_at: "2023-10-11T09:00:00+08:00",
  order: { order_id: "KS-1003" },
  destination: 42, // error expected
};
