import { loadBalancerControllerPolicy } from "../../components/aws/loadBalancerEdge";
import { NETWORK_CONTRIBUTOR } from "../../components/azure/aksCluster";
import { VERSIONS } from "../../model/versions";
import type { ResourceProps } from "../../model/resourceProps";
import { ofType, ProgramRun, singleCellStack } from "../support/harness";

const CELL_NAME = "cell-1.prod.cellplane.example.com";
const ROUTER_NAME = "eu.prod.cellplane.example.com";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

/** The public apps a cell hosting its residency's router publishes, with the host and paths of each. */
const ROUTES = {
    ingest: { host: CELL_NAME, paths: ["/v1/events", "/v1/metrics"] },
    export: { host: CELL_NAME, paths: ["/v1/exports", "/v1/schedules", "/v1/jobs"] },
    router: { host: ROUTER_NAME, paths: ["/"] },
};

const byName = (run: ProgramRun, type: string, name: string) => ofType(run, type).find((r) => r.inputs.metadata?.name === name)!;
const rulesOf = (ingress: ResourceProps) =>
    ingress.spec.rules.map((rule: ResourceProps) => ({
        host: rule.host,
        paths: rule.http.paths.map((p: ResourceProps) => [p.path, p.pathType, p.backend.service.port.number]),
    }));

/** What every cluster target shares: public URLs in the routing table, and the edge the only way in from outside. */
describe.each([
    ["aws", { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" }],
    ["azure", { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" }],
    ["kubernetes", { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" }],
])("the edge of a %s cell", (_cloud, cell) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(cell, "prod");
    });

    test("names the cell and its residency's router under the stack's zone, and routes tenants to those public URLs", () => {
        expect(run.outputs.routers.eu!.url).toBe(`https://${ROUTER_NAME}`);
        expect(run.outputs.routing.acme.endpoints).toMatchObject({ ingestUrl: `https://${CELL_NAME}`, exportUrl: `https://${CELL_NAME}` });
        const table = JSON.parse(byName(run, "kubernetes:core/v1:ConfigMap", "router-files").inputs.data.ROUTING_FILE);
        expect(table.cells["cell-1"]).toEqual({ residency: "eu", ingestUrl: `https://${CELL_NAME}`, exportUrl: `https://${CELL_NAME}` });
    });

    test("lets public traffic reach the public apps only, and only on their port", () => {
        const fromEdge = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "from-edge").inputs.spec;
        expect(fromEdge.podSelector.matchExpressions).toEqual([
            { key: "app.kubernetes.io/name", operator: "In", values: ["ingest", "export", "router"] },
        ]);
        expect(fromEdge.ingress).toHaveLength(1);
        expect(fromEdge.ingress[0].ports).toEqual([{ protocol: "TCP", port: 8080 }]);
    });
});

describe("an AWS cell's edge: the Load Balancer Controller, an ALB, ACM and Route 53", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack({ cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" }, "prod");
    });

    test("installs the controller from its pinned chart, with its own Pod Identity role and no WAF or Shield rights", () => {
        const release = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "aws-load-balancer-controller")!;
        expect(release.inputs).toMatchObject({
            version: VERSIONS.awsLoadBalancerControllerChart.version,
            repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
            namespace: "kube-system",
            values: {
                clusterName: "cellplane-cell-1",
                region: "eu-central-1",
                enableWaf: false,
                enableWafv2: false,
                enableShield: false,
            },
        });
        const association = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").find(
            (a) => a.inputs.serviceAccount === "aws-load-balancer-controller",
        )!;
        expect(association.inputs.namespace).toBe("kube-system");
        const actions = JSON.stringify(loadBalancerControllerPolicy("cell-1-cluster-eks"));
        expect(actions).not.toMatch(/wafv2|waf-regional|shield|cognito/);
    });

    test("lets the controller change only the load balancers and security groups tagged as its cluster's", () => {
        const policy = loadBalancerControllerPolicy("cell-1-cluster-eks") as { Statement: ResourceProps[] };
        const destructive = [
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetSecurityGroups",
            "ec2:DeleteSecurityGroup",
        ];
        for (const action of destructive) {
            const granting = policy.Statement.filter((s) => [s.Action].flat().includes(action));
            expect([action, granting.length]).toEqual([action, 1]);
            expect(granting[0].Condition).toEqual({ StringEquals: { "aws:ResourceTag/elbv2.k8s.aws/cluster": "cell-1-cluster-eks" } });
        }
        const creating = policy.Statement.find((s) => [s.Action].flat().includes("elasticloadbalancing:CreateLoadBalancer"))!;
        expect(creating.Condition).toEqual({ StringEquals: { "aws:RequestTag/elbv2.k8s.aws/cluster": "cell-1-cluster-eks" } });
    });

    test("certifies both public names with ACM, validated by a DNS record per name in the zone", () => {
        const [certificate] = ofType(run, "aws:acm/certificate:Certificate");
        expect(certificate.inputs).toMatchObject({
            domainName: CELL_NAME,
            subjectAlternativeNames: [ROUTER_NAME],
            validationMethod: "DNS",
        });
        const validations = ofType(run, "aws:route53/record:Record").filter((r) => r.name.includes("-validation-"));
        expect(validations.map((r) => [r.inputs.zoneId, r.inputs.name, r.inputs.type])).toEqual([
            ["Z0OFFLINE0ZONE", `_0ffee.${CELL_NAME}.`, "CNAME"],
            ["Z0OFFLINE0ZONE", `_0ffee.${ROUTER_NAME}.`, "CNAME"],
        ]);
        const [validation] = ofType(run, "aws:acm/certificateValidation:CertificateValidation");
        expect(validation.inputs.validationRecordFqdns).toEqual(validations.map((r) => r.inputs.name));
    });

    test("publishes each public app through one internet-facing ALB per cell, HTTPS only with TLS 1.2 or later", () => {
        for (const [app, route] of Object.entries(ROUTES)) {
            const ingress = byName(run, INGRESS, app).inputs;
            expect(ingress.spec.ingressClassName).toBe("alb");
            expect(ingress.metadata.annotations).toMatchObject({
                "alb.ingress.kubernetes.io/scheme": "internet-facing",
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
                "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:eu-central-1:123456789012:certificate/cell-1-edge-certificate",
                "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "alb.ingress.kubernetes.io/group.name": "cell-1",
            });
            expect(rulesOf(ingress)).toEqual([{ host: route.host, paths: route.paths.map((p) => [p, "Prefix", 8080]) }]);
        }
        expect(byName(run, INGRESS, "ingest-consumer")).toBeUndefined();
    });

    test("points each public name at the ALB in Route 53, and lets the ALB's VPC addresses reach the pods", () => {
        const records = ofType(run, "aws:route53/record:Record").filter((r) => r.name.endsWith("-dns"));
        expect(records.map((r) => [r.inputs.name, r.inputs.type, r.inputs.records])).toEqual([
            [CELL_NAME, "CNAME", ["k8s-cell-1-ingest-ingress.eu-central-1.elb.amazonaws.com"]],
            [ROUTER_NAME, "CNAME", ["k8s-cell-1-router-ingress.eu-central-1.elb.amazonaws.com"]],
        ]);
        const fromEdge = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "from-edge").inputs.spec;
        expect(fromEdge.ingress[0].from).toEqual([{ ipBlock: { cidr: expect.stringMatching(/^10\.\d+\.0\.0\/16$/) } }]);
    });
});

describe("an Azure cell's edge: the app routing add-on's NGINX, a static address, Azure DNS and cert-manager", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack({ cloud: "azure", region: "westeurope", residency: "eu", size: "medium" }, "prod");
    });

    test("runs the cell's own NGINX of the app routing add-on on a zone-redundant static address its cluster may attach", () => {
        const cluster = ofType(run, "azure-native:containerservice:ManagedCluster")[0].inputs;
        expect(cluster.ingressProfile).toEqual({ webAppRouting: { enabled: true, nginx: { defaultIngressControllerType: "None" } } });
        const [address] = ofType(run, "azure-native:network:PublicIPAddress");
        expect(address.inputs).toMatchObject({
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            zones: ["1", "2", "3"],
        });
        const attach = ofType(run, "azure-native:authorization:RoleAssignment").find((r) => r.inputs.scope === "cell-1-edge-address-id")!;
        expect(attach.inputs).toMatchObject({
            roleDefinitionId: NETWORK_CONTRIBUTOR,
            principalId: "cell-1-cluster-key-identity-principal",
        });
        const nginx = ofType(run, "kubernetes:approuting.kubernetes.azure.com/v1alpha1:NginxIngressController")[0].inputs;
        expect(nginx.spec).toMatchObject({
            ingressClassName: "cellplane-nginx",
            loadBalancerAnnotations: {
                "service.beta.kubernetes.io/azure-pip-name": "cell-1-edge-address",
                "service.beta.kubernetes.io/azure-load-balancer-resource-group": "cell-1-rg",
            },
        });
    });

    test("writes an A record per public name, relative to the zone, in the zone's resource group", () => {
        const records = ofType(run, "azure-native:dns:RecordSet").map((r) => r.inputs);
        expect(records.map((r) => [r.resourceGroupName, r.zoneName, r.relativeRecordSetName, r.recordType, r.aRecords])).toEqual([
            ["cellplane-dns", "cellplane.example.com", "cell-1.prod", "A", [{ ipv4Address: "203.0.113.10" }]],
            ["cellplane-dns", "cellplane.example.com", "eu.prod", "A", [{ ipv4Address: "203.0.113.10" }]],
        ]);
    });

    test("gets a Let's Encrypt certificate of both names through cert-manager, and serves each app over it", () => {
        const release = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "cert-manager")!;
        expect(release.inputs).toMatchObject({
            version: VERSIONS.certManagerChart.version,
            repositoryOpts: { repo: "https://charts.jetstack.io" },
        });
        const issuer = ofType(run, "kubernetes:cert-manager.io/v1:Issuer")[0].inputs;
        expect(issuer.spec.acme).toMatchObject({
            server: "https://acme-v02.api.letsencrypt.org/directory",
            solvers: [{ http01: { ingress: { ingressClassName: "cellplane-nginx" } } }],
        });
        const certificate = ofType(run, "kubernetes:cert-manager.io/v1:Certificate")[0].inputs;
        expect(certificate.spec).toMatchObject({ secretName: "cellplane-public-tls", dnsNames: [CELL_NAME, ROUTER_NAME] });
        for (const [app, route] of Object.entries(ROUTES)) {
            const ingress = byName(run, INGRESS, app).inputs;
            expect(ingress.spec.ingressClassName).toBe("cellplane-nginx");
            expect(ingress.spec.tls).toEqual([{ hosts: [route.host], secretName: "cellplane-public-tls" }]);
            expect(rulesOf(ingress)).toEqual([{ host: route.host, paths: route.paths.map((p) => [p, "Prefix", 8080]) }]);
        }
        const fromEdge = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "from-edge").inputs.spec;
        expect(fromEdge.ingress[0].from).toEqual([
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "app-routing-system" } } },
        ]);
    });
});

describe("a Kubernetes cell's edge: the Gateway API and cert-manager", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(
            { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
            "prod",
            2555,
            { gatewayClass: "cilium" },
        );
    });

    test("opens a Gateway of the cluster's class with HTTPS for each public name, and HTTP only for the CA's challenges", () => {
        const gateway = ofType(run, "kubernetes:gateway.networking.k8s.io/v1:Gateway")[0].inputs;
        expect(gateway.metadata.namespace).toBe("cell-1-data");
        expect(gateway.spec.gatewayClassName).toBe("cilium");
        expect(gateway.spec.listeners.map((l: ResourceProps) => [l.name, l.hostname, l.port, l.protocol, l.tls?.certificateRefs])).toEqual([
            ["cell", CELL_NAME, 443, "HTTPS", [{ kind: "Secret", name: "cellplane-public-tls" }]],
            ["router", ROUTER_NAME, 443, "HTTPS", [{ kind: "Secret", name: "cellplane-public-tls" }]],
            ["acme", undefined, 80, "HTTP", undefined],
        ]);
        const routes = ofType(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").map((r) => r.inputs);
        for (const [app, route] of Object.entries(ROUTES)) {
            const httpRoute = routes.find((r) => r.metadata.name === app)!;
            expect(httpRoute.spec.hostnames).toEqual([route.host]);
            expect(httpRoute.spec.parentRefs).toEqual([
                { kind: "Gateway", name: "cellplane", sectionName: app === "router" ? "router" : "cell" },
            ]);
            expect(httpRoute.spec.rules.map((r: ResourceProps) => [r.matches[0].path.value, r.backendRefs[0].port])).toEqual(
                route.paths.map((p) => [p, 8080]),
            );
        }
    });

    test("publishes the exports bucket's files at the cell's name, GET only, for download URLs signed for that name", () => {
        const route = byName(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "files").inputs;
        expect(route.spec).toEqual({
            parentRefs: [{ kind: "Gateway", name: "cellplane", sectionName: "cell" }],
            hostnames: [CELL_NAME],
            rules: [
                {
                    matches: [{ path: { type: "PathPrefix", value: "/cell-1-exports/" }, method: "GET" }],
                    backendRefs: [{ name: "seaweedfs-s3", port: 8333 }],
                },
            ],
        });
        // The chart's S3 Service answers no other bucket there: the cold volume's stays inside the cluster.
        expect(JSON.stringify(route)).not.toContain("analytics-cold");
        const policy = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "files-from-edge").inputs.spec;
        expect(policy).toEqual({
            podSelector: { matchLabels: { "app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/component": "s3" } },
            policyTypes: ["Ingress"],
            ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 8333 }] }],
        });
    });

    test("has cert-manager, with its Gateway API support, answer Let's Encrypt's HTTP-01 challenges on the Gateway", () => {
        const release = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "cert-manager")!;
        expect(release.inputs.values.config).toMatchObject({ kind: "ControllerConfiguration", enableGatewayAPI: true });
        const issuer = ofType(run, "kubernetes:cert-manager.io/v1:Issuer")[0].inputs;
        expect(issuer.spec.acme.solvers).toEqual([
            { http01: { gatewayHTTPRoute: { parentRefs: [{ kind: "Gateway", name: "cellplane", sectionName: "acme" }] } } },
        ]);
        const certificate = ofType(run, "kubernetes:cert-manager.io/v1:Certificate")[0].inputs;
        expect(certificate.spec.dnsNames).toEqual([CELL_NAME, ROUTER_NAME]);
    });
});
