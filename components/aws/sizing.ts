import type { Size } from "../../model/sizing";

/** AWS instance types per cell size. The policy pack checks deployed classes against this table. */
export const AWS_INSTANCE_TYPES: Record<Size, { database: string; kafkaBroker: string; node: string }> = {
    small: { database: "db.t4g.medium", kafkaBroker: "kafka.t3.small", node: "m6i.xlarge" },
    medium: { database: "db.r6g.xlarge", kafkaBroker: "kafka.m5.large", node: "m6i.2xlarge" },
    large: { database: "db.r6g.4xlarge", kafkaBroker: "kafka.m5.2xlarge", node: "r6i.4xlarge" },
};
