// A refund status the platform does not document must not compile.
import type { DecisionBody } from "./requests";

export const undocumented: DecisionBody = {
  kuaishou_refund: {
    oid: 2309281234567890,
    status: 41, // error expected
    handlingWay: 10,
    submitTime: 1696298400000,
  },
  destination: { adcode: "330102" },
};
