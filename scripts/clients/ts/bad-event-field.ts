// A misspelt field of a carrier event (`staus` for `status`) must not compile.
import type { DecisionBody } from "./requests";

export const misspelt: DecisionBody = {
  refund_type: "refund_only",
  requested_at: "2023-10-11T09:00:00+08:00",
  order: { order_id: "KS-1003" },
  destination: { address: "浙江省杭州市上城区解放路100号" },
  logistics_trace: [
    { at: "2023-10-09T20:00:00+08:00", status: "collected" },
    { at: "2023-10-10T14:00:00+08:00", staus: "in_transit" }, // error expected
  ],
};
