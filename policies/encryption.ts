import { describe, stackPolicy, typedPolicy } from "./lib";
import { T } from "./types";
import type { ResourceProps } from "../model/resourceProps";

export const postgresStorageEncrypted = typedPolicy({
    name: "postgres-storage-encrypted",
    description: "RDS PostgreSQL storage is encrypted with a customer KMS key. (Flexible Server storage is always encrypted by Azure.)",
    types: [T.rds],
    check: (db, report) => {
        if (db.props.storageEncrypted !== true || !db.props.kmsKeyId) {
            report(
                `${describe(db)} stores data unencrypted or without the cell's KMS key. Set storageEncrypted: true and kmsKeyId to the cell key.`,
            );
        }
    },
});

export const bucketEncryptedWithKms = stackPolicy({
    name: "bucket-sse-kms",
    description: "Every S3 bucket encrypts objects with SSE-KMS by default.",
    validateStack: ({ resources }, report) => {
        const encrypted = new Set(
            resources
                .filter(
                    (r) =>
                        r.type === T.bucketEncryption &&
                        (r.props.rules ?? []).some(
                            (rule: ResourceProps) =>
                                rule.applyServerSideEncryptionByDefault?.sseAlgorithm === "aws:kms" &&
                                rule.applyServerSideEncryptionByDefault?.kmsMasterKeyId,
                        ),
                )
                .map((r) => r.props.bucket),
        );
        for (const bucket of resources.filter((r) => r.type === T.bucket && !encrypted.has(r.props.bucket))) {
            report(
                `${describe(bucket)} has no SSE-KMS default encryption. Add a BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and the cell key.`,
                bucket.urn,
            );
        }
    },
});

export const storageAccountEncryption = typedPolicy({
    name: "storage-account-infrastructure-encryption",
    description: "Azure Storage accounts use infrastructure (double) encryption.",
    types: [T.storageAccount],
    check: (account, report) => {
        if (account.props.encryption?.requireInfrastructureEncryption !== true) {
            report(
                `${describe(account)} does not require infrastructure encryption. Set encryption.requireInfrastructureEncryption: true (it can only be set when the account is created).`,
            );
        }
    },
});

export const storageAccountTransport = typedPolicy({
    name: "storage-account-https-tls12",
    description: "Azure Storage accounts accept HTTPS only, with TLS 1.2 or later.",
    types: [T.storageAccount],
    check: (account, report) => {
        if (account.props.enableHttpsTrafficOnly !== true || !["TLS1_2", "TLS1_3"].includes(account.props.minimumTlsVersion ?? "")) {
            report(
                `${describe(account)} accepts plain HTTP or TLS older than 1.2. Set enableHttpsTrafficOnly: true and minimumTlsVersion: "TLS1_2".`,
            );
        }
    },
});

export const kafkaEncryptedAtRest = typedPolicy({
    name: "msk-encryption-at-rest",
    description: "MSK clusters encrypt data at rest with the cell's KMS key.",
    types: [T.msk],
    check: (cluster, report) => {
        if (!cluster.props.encryptionInfo?.encryptionAtRestKmsKeyArn) {
            report(
                `${describe(cluster)} encrypts at rest with the AWS-owned key, not the cell's. Set encryptionInfo.encryptionAtRestKmsKeyArn to the cell key.`,
            );
        }
    },
});

export const kafkaTlsInTransit = typedPolicy({
    name: "kafka-tls-in-transit",
    description: "Kafka traffic is TLS only: MSK between clients and brokers and inside the cluster, Event Hubs with TLS 1.2 or later.",
    types: [T.msk, T.eventHubsNamespace],
    check: (resource, report) => {
        if (resource.type === T.msk) {
            const transit = resource.props.encryptionInfo?.encryptionInTransit;
            if ((transit?.clientBroker ?? "TLS") !== "TLS" || transit?.inCluster === false) {
                report(
                    `${describe(resource)} allows plaintext traffic. Set encryptionInfo.encryptionInTransit to { clientBroker: "TLS", inCluster: true }.`,
                );
            }
        } else if (!["1.2", "1.3"].includes(resource.props.minimumTlsVersion ?? "")) {
            report(`${describe(resource)} accepts TLS older than 1.2. Set minimumTlsVersion: "1.2".`);
        }
    },
});

export const kubernetesSecretsEncrypted = typedPolicy({
    name: "kubernetes-secrets-encrypted",
    description: "EKS and AKS encrypt Kubernetes secrets with the cell's key (KMS envelope encryption).",
    types: [T.eks, T.aks],
    check: (cluster, report) => {
        const encrypted =
            cluster.type === T.eks
                ? (cluster.props.encryptionConfig?.resources ?? []).includes("secrets") &&
                  !!cluster.props.encryptionConfig?.provider?.keyArn
                : cluster.props.securityProfile?.azureKeyVaultKms?.enabled === true;
        if (!encrypted) {
            report(
                cluster.type === T.eks
                    ? `${describe(cluster)} does not envelope-encrypt secrets. Set encryptionConfig: { resources: ["secrets"], provider: { keyArn: <cell key> } }.`
                    : `${describe(cluster)} does not encrypt secrets with a Key Vault key. Enable securityProfile.azureKeyVaultKms with the cell's key.`,
            );
        }
    },
});

export const localBucketEncrypted = stackPolicy({
    name: "local-bucket-encrypted",
    description:
        "A local cell's exports bucket encrypts objects at rest, as read from the server: a check of the live state, which drift runs after a refresh.",
    validateStack: ({ resources }, report) => {
        for (const bucket of resources.filter((r) => r.type === T.localObject && r.props.kind === "bucket")) {
            // Only a read of the server knows (`observed`); a preview has not read it yet, and a gone bucket is runtime drift.
            if (bucket.props.observed && bucket.props.observed.encrypted !== true) {
                report(
                    `${describe(bucket)} stores objects unencrypted: its default encryption was removed outside Pulumi. Run cellplane reconcile to restore SSE (AES256) on bucket ${bucket.props.spec?.bucket}.`,
                    bucket.urn,
                );
            }
        }
    },
});

export const ENCRYPTION_POLICIES = [
    postgresStorageEncrypted,
    bucketEncryptedWithKms,
    storageAccountEncryption,
    storageAccountTransport,
    kafkaEncryptedAtRest,
    kafkaTlsInTransit,
    kubernetesSecretsEncrypted,
    localBucketEncrypted,
];
