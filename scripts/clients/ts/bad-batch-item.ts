// A batch item that is not a decision request must not compile.
import type { BatchBody } from "./requests";
import { stalled } from "./requests";

export const mixed: BatchBody = {
  items: [
    stalled,
    { order_id: "KS-1003", note: "an order, not a request" }, // error expected
  ],
};
