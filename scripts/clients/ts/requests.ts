// Correct requests, typed by what openapi-typescript generates from openapi.yaml: this
// file must compile with `tsc --noEmit --strict`. Each bad-*.ts file beside it is one
// mistake that must not compile, on the line marked `// error expected`.
import type { paths } from "../generated/schema";

export type DecisionBody =
  paths["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"];
export type BatchBody =
  paths["/v1/decisions/batch"]["post"]["requestBody"]["content"]["application/json"];
export type Decision =
  paths["/v1/decisions"]["post"]["responses"][200]["content"]["application/json"];

export const stalled: DecisionBody = {
  case_id: "AS-1003",
  refund_type: "refund_only",
  requested_at: "2023-10-11T09:00:00+08:00",
  as_of: 1697245200000,
  order: { order_id: "KS-1003", shipped_at: "2023-10-09 20:00:00" },
  destination: { province: "浙江省", city: "杭州市", district: "上城区" },
  logistics_trace: [
    { at: "2023-10-09T20:00:00+08:00", status: "collected" },
    { at: "2023-10-10T14:00:00+08:00", description: "【杭州市】快件已到达杭州转运中心" },
    { at: "2023-10-10T15:00:00+08:00", status: "kuaidi100:0", location: "杭州" },
  ],
};

export const returnInCountdown: DecisionBody = {
  refund_type: "return_and_refund",
  requested_at: "2023-10-05T08:00:00+08:00",
  order: { order_id: "KS-1005" },
  destination: { adcode: 330106 },
  return: {
    destination: { address: "浙江省杭州市西湖区文三路1号" },
    countdown_started_at: "2023-10-06T08:00:00+08:00",
    trace: [{ at: "2023-10-06T09:00:00+08:00", status: "in_transit" }],
  },
  shop: { open_refund_requests: 12 },
};

export const kuaishou: DecisionBody = {
  kuaishou_refund: { oid: 2023100912345, refundId: "KR-1", status: 10, handlingWay: 10, submitTime: 1696986000000 },
  destination: { adcode: "330102" },
};

// The detail as the platform returns it (fields not read are typed as anything), codes
// as digits too, and the order detail beside it.
export const kuaishouReturn: DecisionBody = {
  kuaishou_refund: {
    refundId: 2150361234567890,
    oid: "2309281234567890",
    status: "40",
    handlingWay: 1,
    negotiateStatus: 1,
    receiptStatus: null,
    submitTime: "1696298400000",
    expireTime: 1696393800000,
    address: "浙江省杭州市余杭区五常街道文一西路969号",
    logisticsInfo: { expressNo: "YT7412345678901", expressCode: 4 },
    refundFee: 12900,
  },
  kuaishou_order: { orderBaseInfo: { sendTime: 1695974400000, recvTime: 0, status: 50 } },
  destination: { address: "江苏省南京市鼓楼区中山路1号" },
  return: { trace_text: "2023-10-03 12:00 【南京市】圆通速递 已揽收" },
};

// Built from a push message (kwaishop_aftersales_addRefund): `orderId`, not `oid`, and a
// flattened waybill; the order detail's own oid beside it.
export const kuaishouPushed: DecisionBody = {
  kuaishou_refund: {
    refundId: "2150361234567890",
    orderId: 2309281234567890,
    status: 40,
    handlingWay: 1,
    submitTime: 1696298400000,
    expireTime: 1696393800000,
    expressNo: "YT7412345678901",
  },
  kuaishou_order: { orderBaseInfo: { oid: "2309281234567890", sendTime: 1695974400000, recvTime: 0 } },
  destination: { address: "江苏省南京市鼓楼区中山路1号" },
  return: { trace_text: "2023-10-03 12:00 【南京市】圆通速递 已揽收" },
};

export const batch: BatchBody = { items: [stalled, returnInCountdown, kuaishou, kuaishouReturn, kuaishouPushed] };

// Reading an answer is typed as well: codes are unions of their values. The compact view
// (`?view=compact`) has the full view's fields less its texts, so codes, deadlines and
// the zone read the same from either; a text needs the answer narrowed on its `view`.
export function firstStep(d: Decision): string {
  const late = d.deadlines.filter((x) => x.overdue).map((x) => x.kind);
  const kind: "intercept_and_refund_by" | "stalled_after" | "respond_by" | "platform_deadline" | undefined = late[0];
  // The same fields in both views: codes and countdowns read without narrowing.
  const codes: string[] = d.actions.map((a) => a.code);
  const left: number[] = d.deadlines.map((x) => x.remaining_seconds);
  const first = d.view === "full" ? d.actions[0]?.text : codes[0];
  return first ?? `${d.scenario} → ${d.decision} ${kind ?? ""} ${left[0] ?? ""}`;
}
