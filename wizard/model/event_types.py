"""What CloudTrail lets a trail record, as AWS documents it: the catalogue behind the events step.

Plain tuples and mappings, importable without pydantic (the question catalogue,
:mod:`wizard.guide`, needs them for the full-screen wizard's first frame).

Sources, read on :data:`CATALOGUE_CHECKED`:

* Data event resource types: the CloudTrail User Guide's table "Data events supported by AWS
  CloudTrail" (``cloudtrail-events.html``), its ``resources.type`` column and its console name
  (the name the CloudTrail console shows). Basic event selectors cover only the first three
  kinds (S3 objects in general purpose buckets, Lambda functions, DynamoDB tables); every
  other type needs advanced event selectors.
* The fields and operators of an advanced event selector for data events: "Filtering data
  events by using advanced event selectors" (``filtering-data-events.html``) and the API
  reference's ``AdvancedFieldSelector``.
* Network activity events: "Logging network activity events"
  (``logging-network-events-with-cloudtrail.html``), its list of valid ``eventSource`` values;
  ``errorCode`` takes only ``VpceAccessDenied``.
* Aggregation templates and Insights event categories: botocore's CloudTrail service model
  (``AggregationConfiguration.Templates``, ``InsightSelector.EventCategories``) and "Aggregating
  data events" (``aggregating-data-events.html``).

AWS adds resource types and event sources often. A value missing here is not refused by the
answers file: preflight warns that it is not in this list (CloudTrail refuses an unknown one
with ``InvalidEventSelectorsException``).
"""

from __future__ import annotations

from dataclasses import dataclass

CATALOGUE_CHECKED = "2026-12-07"
"""When the lists below were compared with the CloudTrail User Guide."""


@dataclass(frozen=True)
class DataResourceType:
    """One kind of resource whose data events a trail can record."""

    type: str
    """The ``resources.type`` value (``AWS::S3::Object``)."""
    label: str
    """What the CloudTrail console calls it (``S3``)."""
    description: str
    """One line: what is recorded."""

    @property
    def basic(self) -> bool:
        """True when basic event selectors can record it (S3 objects, Lambda, DynamoDB)."""
        return self.type in BASIC_DATA_TYPES


BASIC_DATA_TYPES = ("AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table")
"""The resource types basic event selectors take (``DataResource.Type``)."""

BASIC_SELECTORS_MAX = 5
"""Basic event selectors: 5 per trail (CloudTrail quotas, WhatIsCloudTrail-Limits)."""

BASIC_DATA_RESOURCES_MAX = 250
"""Basic event selectors: 250 data resource values across all selectors of a trail."""

S3_OBJECT = "AWS::S3::Object"
"""Objects in general purpose buckets: the type of CIS 4.8/4.9 and of the log bucket loop."""


def _t(type_: str, label: str, description: str) -> DataResourceType:
    return DataResourceType(type_, label, description)


DATA_RESOURCE_TYPES: tuple[DataResourceType, ...] = (
    # The three basic event selectors cover, first; then the others by resources.type.
    _t("AWS::S3::Object", "S3", "Object-level calls (GetObject, PutObject, DeleteObject...) "
       "on objects in general purpose buckets"),
    _t("AWS::Lambda::Function", "Lambda", "Function invocations (the Invoke API)"),
    _t("AWS::DynamoDB::Table", "DynamoDB", "Item-level calls (PutItem, GetItem, DeleteItem...) "
       "on tables, and the streams of tables that have them"),
    _t("AWS::AgentAccessMCP::Tools", "Agent Access MCP Tools",
       "WorkSpaces Applications: agents using its MCP tools"),
    _t("AWS::AgentRegistry::Registry", "AWS Agent Registry", "Agent Registry: calls on registries"),
    _t("AWS::AIDevOps::AgentSpace", "Agent Space", "AIDevOps: calls on agent spaces"),
    _t("AWS::AIDevOps::Association", "AIDevOps association", "AIDevOps: calls on associations"),
    _t("AWS::AIDevOps::OperatorAppTeam", "AIDevOps operator app team",
       "AIDevOps: calls on operator app teams"),
    _t("AWS::AIDevOps::PipelineMetadata", "AIDevOps Pipelines Metadata",
       "AIDevOps: calls on pipeline metadata"),
    _t("AWS::AIDevOps::Service", "AIDevOps service", "AIDevOps: calls on services"),
    _t("AWS::AIOps::InvestigationGroup", "AIOps Investigation Group",
       "Amazon Q Developer: operational investigations"),
    _t("AWS::AOSS::Collection", "AWS::AOSS::Collection",
       "OpenSearch Serverless: calls on collections"),
    _t("AWS::AppConfig::Configuration", "AWS AppConfig",
       "AppConfig: configuration retrieval (StartConfigurationSession, GetLatestConfiguration)"),
    _t("AWS::ApplicationSignals::InstrumentationConfig",
       "AWS::ApplicationSignals::InstrumentationConfig",
       "CloudWatch Application Signals: calls on instrumentation configurations"),
    _t("AWS::AppSync::GraphQLApi", "AppSync GraphQL", "AppSync: calls on GraphQL APIs"),
    _t("AWS::AWSExternalAnthropic::Workspace", "External anthropic workspace",
       "Calls on external Anthropic workspaces"),
    _t("AWS::B2BI::Transformer", "B2B Data Interchange",
       "B2B Data Interchange: transformer calls (GetTransformerJob, StartTransformerJob)"),
    _t("AWS::Backup::BackupAccessPoint", "AWS Backup access point",
       "AWS Backup: calls on backup access points"),
    _t("AWS::Backup::SearchJob", "AWS Backup Search Data APIs",
       "AWS Backup: Search Data API calls on search jobs"),
    _t("AWS::Bedrock::AdvancedOptimizePromptJob", "AdvancedOptimizePromptJob",
       "Bedrock: advanced optimize prompt jobs"),
    _t("AWS::Bedrock::AgentAlias", "Bedrock agent alias", "Bedrock: calls on agent aliases"),
    _t("AWS::Bedrock::AsyncInvoke", "Bedrock async invoke", "Bedrock: asynchronous invocations"),
    _t("AWS::Bedrock::AutomatedReasoningPolicy", "Bedrock Automated Reasoning Policy",
       "Bedrock: calls on automated reasoning policies"),
    _t("AWS::Bedrock::AutomatedReasoningPolicyVersion",
       "Bedrock Automated Reasoning Policy Version",
       "Bedrock: calls on automated reasoning policy versions"),
    _t("AWS::Bedrock::Blueprint", "Bedrock blueprint", "Bedrock: blueprint calls"),
    _t("AWS::Bedrock::DataAutomationInvocation", "Bedrock Data Automation invocation",
       "Bedrock: data automation invocations"),
    _t("AWS::Bedrock::DataAutomationProfile", "Bedrock Data Automation profile",
       "Bedrock: data automation profile calls"),
    _t("AWS::Bedrock::DataAutomationProject", "Bedrock Data Automation project",
       "Bedrock: data automation project calls"),
    _t("AWS::Bedrock::FlowAlias", "Bedrock flow alias", "Bedrock: calls on flow aliases"),
    _t("AWS::Bedrock::FlowExecution", "Flow Execution", "Bedrock: flow executions"),
    _t("AWS::Bedrock::Guardrail", "Bedrock guardrail", "Bedrock: calls on guardrails"),
    _t("AWS::Bedrock::InlineAgent", "Bedrock Invoke Inline-Agent",
       "Bedrock: inline agent invocations"),
    _t("AWS::Bedrock::KnowledgeBase", "Bedrock knowledge base",
       "Bedrock: calls on knowledge bases"),
    _t("AWS::Bedrock::Model", "Bedrock model", "Bedrock: calls on models"),
    _t("AWS::Bedrock::PromptVersion", "Bedrock prompt", "Bedrock: calls on prompts"),
    _t("AWS::Bedrock::Session", "Bedrock session", "Bedrock: calls on sessions"),
    _t("AWS::Bedrock::Tool", "Bedrock Tool", "Bedrock: tool calls"),
    _t("AWS::BedrockAgentCore::ABTest", "Bedrock-AgentCore ABTest",
       "Bedrock AgentCore: calls on A/B tests"),
    _t("AWS::BedrockAgentCore::APIKeyCredentialProvider",
       "Bedrock-AgentCore APIKey CredentialProvider",
       "Bedrock AgentCore: API key credential provider calls"),
    _t("AWS::BedrockAgentCore::BatchEvaluate", "BedrockAgentCore batch evaluate",
       "Bedrock AgentCore: batch evaluations"),
    _t("AWS::BedrockAgentCore::Browser", "Bedrock-AgentCore Browser",
       "Bedrock AgentCore: browser calls"),
    _t("AWS::BedrockAgentCore::BrowserCustom", "Bedrock-AgentCore Browser-Custom",
       "Bedrock AgentCore: custom browser calls"),
    _t("AWS::BedrockAgentCore::BrowserProfile", "Bedrock-AgentCore Browser Profile",
       "Bedrock AgentCore: calls on browser profiles"),
    _t("AWS::BedrockAgentCore::CapacityProvider", "BedrockAgentCore CapacityProvider",
       "Bedrock AgentCore: calls on capacity providers"),
    _t("AWS::BedrockAgentCore::CodeInterpreter", "Bedrock-AgentCore Code-Interpreter",
       "Bedrock AgentCore: code interpreter calls"),
    _t("AWS::BedrockAgentCore::CodeInterpreterCustom",
       "Bedrock-AgentCore Code-Interpreter-Custom",
       "Bedrock AgentCore: custom code interpreter calls"),
    _t("AWS::BedrockAgentCore::Evaluator", "Bedrock-AgentCore Evaluator",
       "Bedrock AgentCore: calls on evaluators"),
    _t("AWS::BedrockAgentCore::Gateway", "Bedrock-AgentCore Gateway",
       "Bedrock AgentCore: gateway calls"),
    _t("AWS::BedrockAgentCore::Memory", "Bedrock-AgentCore Memory",
       "Bedrock AgentCore: memory calls"),
    _t("AWS::BedrockAgentCore::OAuth2CredentialProvider",
       "Bedrock-AgentCore Oauth2 CredentialProvider",
       "Bedrock AgentCore: OAuth2 credential provider calls"),
    _t("AWS::BedrockAgentCore::Payments", "Bedrock-AgentCore payments",
       "Bedrock AgentCore: calls on payments"),
    _t("AWS::BedrockAgentCore::Policy", "Bedrock-AgentCore policy",
       "Bedrock AgentCore: calls on policies"),
    _t("AWS::BedrockAgentCore::PolicyEngine", "Bedrock-AgentCore policy engine",
       "Bedrock AgentCore: calls on policy engines"),
    _t("AWS::BedrockAgentCore::Recommendation", "Bedrock-AgentCore Recommendation",
       "Bedrock AgentCore: calls on recommendations"),
    _t("AWS::BedrockAgentCore::Registry", "Bedrock-AgentCore Registry",
       "Bedrock AgentCore: calls on registries"),
    _t("AWS::BedrockAgentCore::Runtime", "Bedrock-AgentCore Runtime",
       "Bedrock AgentCore: runtime calls"),
    _t("AWS::BedrockAgentCore::RuntimeEndpoint", "Bedrock-AgentCore Runtime-Endpoint",
       "Bedrock AgentCore: runtime endpoint calls"),
    _t("AWS::BedrockAgentCore::TokenVault", "Bedrock-AgentCore Token Vault",
       "Bedrock AgentCore: token vault calls"),
    _t("AWS::BedrockAgentCore::WorkloadIdentity", "Bedrock-AgentCore Workload Identity",
       "Bedrock AgentCore: workload identity calls"),
    _t("AWS::BedrockAgentCore::WorkloadIdentityDirectory",
       "Bedrock-AgentCore Workload Identity Directory",
       "Bedrock AgentCore: workload identity directory calls"),
    _t("AWS::BedrockMantle::Project", "Bedrock Mantle Project",
       "Bedrock Mantle: calls on projects"),
    _t("AWS::BedrockWebSearch::Tool", "Bedrock Web Search Tool",
       "Bedrock: web search tool calls"),
    _t("AWS::Cassandra::Stream", "Cassandra CDC streams",
       "Keyspaces (for Apache Cassandra): calls on CDC streams"),
    _t("AWS::Cassandra::Table", "Cassandra table",
       "Keyspaces (for Apache Cassandra): calls on tables"),
    _t("AWS::CertificateManager::AcmeEndpoint", "AWS::CertificateManager::AcmeEndpoint",
       "Certificate Manager: calls on ACME endpoints"),
    _t("AWS::ClinicalTrialsTech::Codelist", "Clinical Trials Tech codelist",
       "Clinical Trials Tech: calls on codelists"),
    _t("AWS::ClinicalTrialsTech::Dataset", "Clinical Trials Tech dataset",
       "Clinical Trials Tech: calls on datasets"),
    _t("AWS::ClinicalTrialsTech::Execution", "Clinical Trials Tech execution",
       "Clinical Trials Tech: calls on executions"),
    _t("AWS::ClinicalTrialsTech::Instance", "Clinical Trials Tech instance",
       "Clinical Trials Tech: calls on instances"),
    _t("AWS::ClinicalTrialsTech::Mapping", "Clinical Trials Tech mapping",
       "Clinical Trials Tech: calls on mappings"),
    _t("AWS::ClinicalTrialsTech::Schedule", "Clinical Trials Tech schedule",
       "Clinical Trials Tech: calls on schedules"),
    _t("AWS::ClinicalTrialsTech::Study", "Clinical Trials Tech study",
       "Clinical Trials Tech: calls on studies"),
    _t("AWS::CloudFront::KeyValueStore", "CloudFront KeyValueStore",
       "CloudFront: calls on KeyValueStores"),
    _t("AWS::CloudOptimization::Profile", "AWS::CloudOptimization::Profile",
       "Cost Optimization: calls on profiles"),
    _t("AWS::CloudOptimization::Recommendation", "AWS::CloudOptimization::Recommendation",
       "Cost Optimization: calls on recommendations"),
    _t("AWS::CloudTrail::Channel", "CloudTrail channel",
       "CloudTrail: PutAuditEvents on a Lake channel for events from outside AWS"),
    _t("AWS::CloudWatch::Dataset", "CloudWatch dataset", "CloudWatch: calls on datasets"),
    _t("AWS::CloudWatch::IngestionEndpoint", "Observability ingestion endpoint",
       "CloudWatch: calls on observability ingestion endpoints"),
    _t("AWS::CloudWatch::Metric", "CloudWatch metric", "CloudWatch: calls on metrics"),
    _t("AWS::CodeGuruProfiler::ProfilingGroup", "CodeGuru Profiler profiling group",
       "CodeGuru Profiler: calls on profiling groups"),
    _t("AWS::CodeWhisperer::Customization", "CodeWhisperer customization",
       "CodeWhisperer: calls on customizations"),
    _t("AWS::CodeWhisperer::Profile", "CodeWhisperer", "CodeWhisperer: calls on profiles"),
    _t("AWS::Cognito::IdentityPool", "Cognito Identity Pools",
       "Cognito: calls on identity pools"),
    _t("AWS::DataExchange::Asset", "Data Exchange asset", "Data Exchange: calls on assets"),
    _t("AWS::Deadline::Fleet", "Deadline Cloud fleet", "Deadline Cloud: calls on fleets"),
    _t("AWS::Deadline::Job", "Deadline Cloud job", "Deadline Cloud: calls on jobs"),
    _t("AWS::Deadline::Queue", "Deadline Cloud queue", "Deadline Cloud: calls on queues"),
    _t("AWS::Deadline::Worker", "Deadline Cloud worker", "Deadline Cloud: calls on workers"),
    _t("AWS::DiodeAlerting::LinkedAlert", "Diode Alerting linked alert",
       "Diode Alerting: calls on linked alerts"),
    _t("AWS::DSQL::Cluster", "Amazon Aurora DSQL", "Aurora DSQL: calls on clusters"),
    _t("AWS::DynamoDB::Stream", "DynamoDB Streams", "DynamoDB: calls on streams"),
    _t("AWS::EC2::InstanceConnectEndpoint", "EC2 instance connect endpoint",
       "EC2: instance connect endpoint calls"),
    _t("AWS::EC2::Snapshot", "EBS direct APIs",
       "EBS direct APIs on snapshots (PutSnapshotBlock, GetSnapshotBlock, ListChangedBlocks)"),
    _t("AWS::ECS::ContainerInstance", "ECS container instance",
       "ECS: calls on container instances"),
    _t("AWS::EKS::Dashboard", "EKS dashboard", "EKS: calls on dashboards"),
    _t("AWS::EMRWAL::Workspace", "EMR write-ahead log workspace",
       "EMR: calls on write-ahead log workspaces"),
    _t("AWS::Events::Endpoint", "EventBridge endpoint", "EventBridge: calls on endpoints"),
    _t("AWS::Events::EventBus", "EventBridge event bus", "EventBridge: calls on event buses"),
    _t("AWS::Events::EventSource", "EventBridge partner event source",
       "EventBridge: calls on partner event sources"),
    _t("AWS::Events::Rule", "EventBridge rule", "EventBridge: calls on rules"),
    _t("AWS::FinSpace::Environment", "FinSpace", "FinSpace: calls on environments"),
    _t("AWS::FSx::Volume", "FSx Volume", "FSx: calls on volumes"),
    _t("AWS::GameLiftStreams::Application", "GameLift Streams application",
       "GameLift Streams: streaming calls on applications"),
    _t("AWS::GameLiftStreams::StreamGroup", "GameLift Streams stream group",
       "GameLift Streams: streaming calls on stream groups"),
    _t("AWS::GeoMaps::Provider", "Geo Maps", "Amazon Location Maps calls"),
    _t("AWS::GeoPlaces::Provider", "Geo Places", "Amazon Location Places calls"),
    _t("AWS::GeoRoutes::Provider", "Geo Routes", "Amazon Location Routes calls"),
    _t("AWS::Glue::Table", "Lake Formation",
       "Glue: calls on tables created by Lake Formation"),
    _t("AWS::GreengrassV2::ComponentVersion", "IoT Greengrass component version",
       "Greengrass: core device calls on component versions"),
    _t("AWS::GreengrassV2::Deployment", "IoT Greengrass deployment",
       "Greengrass: core device calls on deployments"),
    _t("AWS::GuardDuty::Detector", "GuardDuty detector", "GuardDuty: calls on a detector"),
    _t("AWS::GuardDuty::MalwareScan", "GuardDuty malware scan",
       "GuardDuty: calls on malware scans"),
    _t("AWS::HealthAgent::Domain", "Health agent domain", "Health agent: calls on domains"),
    _t("AWS::HealthAgent::Integration", "AWS::HealthAgent::Integration",
       "Connect Health: calls on integrations"),
    _t("AWS::HealthAgent::PatientInsightsJob", "health-agent.amazonaws.com",
       "Connect Health: calls on patient insights jobs"),
    _t("AWS::HealthAgent::Session", "AWS::HealthAgent::Session",
       "Connect Health: calls on sessions"),
    _t("AWS::HealthAgent::Subscription", "Health agent subscription",
       "Health agent: calls on subscriptions"),
    _t("AWS::HealthLake::DataTransformationProfile", "Health Lake data transformation profile",
       "HealthLake: calls on data transformation profiles"),
    _t("AWS::IoT::Certificate", "IoT certificate", "IoT: calls on certificates"),
    _t("AWS::IoT::Thing", "IoT thing", "IoT: calls on things"),
    _t("AWS::IoT::Tunnel", "AWS IoT tunnel", "IoT: calls on tunnels"),
    _t("AWS::IoTSiteWise::Asset", "IoT SiteWise asset", "IoT SiteWise: calls on assets"),
    _t("AWS::IoTSiteWise::Dataset", "IoT SiteWise dataset", "IoT SiteWise: calls on datasets"),
    _t("AWS::IoTSiteWise::Pipeline", "IoT SiteWise pipeline",
       "IoT SiteWise: calls on pipelines"),
    _t("AWS::IoTSiteWise::TimeSeries", "IoT SiteWise time series",
       "IoT SiteWise: calls on time series"),
    _t("AWS::IoTSiteWise::Workspace", "IoT SiteWise workspace",
       "IoT SiteWise: calls on workspaces"),
    _t("AWS::IoTTwinMaker::Entity", "IoT TwinMaker entity", "IoT TwinMaker: calls on entities"),
    _t("AWS::IoTTwinMaker::Workspace", "IoT TwinMaker workspace",
       "IoT TwinMaker: calls on workspaces"),
    _t("AWS::KendraRanking::ExecutionPlan", "Kendra Ranking",
       "Kendra Intelligent Ranking: calls on rescore execution plans"),
    _t("AWS::Kinesis::Stream", "Kinesis stream", "Kinesis Data Streams: calls on streams"),
    _t("AWS::Kinesis::StreamConsumer", "Kinesis stream consumer",
       "Kinesis Data Streams: calls on stream consumers"),
    _t("AWS::KinesisFirehose::DeliveryStream", "Amazon Data Firehose",
       "Data Firehose: delivery stream calls"),
    _t("AWS::KinesisVideo::SignalingChannel", "Kinesis video signaling channel",
       "Kinesis Video Streams: signaling channel calls"),
    _t("AWS::KinesisVideo::Stream", "Kinesis video stream",
       "Kinesis Video Streams: calls on video streams (GetMedia, PutMedia)"),
    _t("AWS::Lambda::MicrovmImage", "Lambda microvm image", "Lambda: calls on microVM images"),
    _t("AWS::Lex::Bot", "Lex Bot", "Lex: calls on bots"),
    _t("AWS::Lex::BotAlias", "AWS Lex Bot Alias", "Lex: calls on bot aliases"),
    _t("AWS::Logs::LogGroupAuthorization", "CloudWatch Logs log group authorization",
       "CloudWatch Logs: calls on log group authorizations"),
    _t("AWS::Logs::ScheduledQuery", "Logs ScheduledQuery",
       "CloudWatch Logs: calls on scheduled queries"),
    _t("AWS::MachineLearning::MlModel", "Machine Learning MlModel",
       "Machine Learning: calls on ML models"),
    _t("AWS::ManagedBlockchain::Network", "Managed Blockchain network",
       "Managed Blockchain: calls on networks"),
    _t("AWS::ManagedBlockchain::Node", "Managed Blockchain",
       "Managed Blockchain: JSON-RPC calls on Ethereum nodes"),
    _t("AWS::ManagedBlockchainQuery::QueryAPI", "Managed Blockchain Query",
       "Managed Blockchain Query calls"),
    _t("AWS::MedicalImaging::Datastore", "MedicalImaging data store",
       "HealthImaging: calls on data stores"),
    _t("AWS::MedicalImaging::Imageset", "MedicalImaging image set",
       "HealthImaging: image set calls"),
    _t("AWS::MWAA::Environment", "Managed Apache Airflow",
       "Managed Workflows for Apache Airflow: calls on environments"),
    _t("AWS::NeptuneGraph::Graph", "Neptune Graph",
       "Neptune Analytics: queries, algorithms and vector search on a graph"),
    _t("AWS::NetworkFlowMonitor::Monitor", "Network Flow Monitor monitor",
       "CloudWatch Network Flow Monitor: calls on monitors"),
    _t("AWS::NetworkFlowMonitor::Scope", "Network Flow Monitor scope",
       "CloudWatch Network Flow Monitor: calls on scopes"),
    _t("AWS::NovaAct::WorkflowDefinition", "Workflow definition",
       "Nova Act: calls on workflow definitions"),
    _t("AWS::NovaAct::WorkflowRun", "Workflow run", "Nova Act: calls on workflow runs"),
    _t("AWS::One::UKey", "Amazon One UKey", "Amazon One Enterprise: calls on UKeys"),
    _t("AWS::One::User", "Amazon One User", "Amazon One Enterprise: calls on users"),
    _t("AWS::PaymentCryptography::Alias", "Payment Cryptography alias",
       "Payment Cryptography: calls on aliases"),
    _t("AWS::PaymentCryptography::Key", "Payment Cryptography key",
       "Payment Cryptography: calls on keys"),
    _t("AWS::PCAConnectorAD::Connector", "Private CA Connector for Active Directory",
       "Private CA Connector for Active Directory calls"),
    _t("AWS::PCAConnectorSCEP::Connector", "Private CA Connector for SCEP",
       "Private CA Connector for SCEP calls"),
    _t("AWS::Pinpoint::App", "Mobile Targeting Application",
       "Pinpoint: calls on mobile targeting applications"),
    _t("AWS::QApps::QApp", "Amazon Q Apps", "Q Apps: data calls on apps"),
    _t("AWS::QApps::QAppSession", "Amazon Q App Session", "Q Apps: data calls on app sessions"),
    _t("AWS::QBusiness::Application", "Amazon Q Business application",
       "Q Business: calls on applications"),
    _t("AWS::QBusiness::DataSource", "Amazon Q Business data source",
       "Q Business: calls on data sources"),
    _t("AWS::QBusiness::Index", "Amazon Q Business index", "Q Business: calls on indexes"),
    _t("AWS::QBusiness::Integration", "Amazon Q Business integration",
       "Q Business: integration calls"),
    _t("AWS::QBusiness::WebExperience", "Amazon Q Business web experience",
       "Q Business: calls on web experiences"),
    _t("AWS::QDeveloper::Integration", "Q Developer integration",
       "Q Developer: calls on integrations"),
    _t("AWS::Quicksight::ActionConnector", "AWS QuickSuite Actions",
       "Amazon Quick: calls on action connectors"),
    _t("AWS::QuickSight::App", "Amazon QuickSight App", "QuickSight: calls on apps"),
    _t("AWS::QuickSight::Automation", "QuickSight automation",
       "QuickSight: calls on automations"),
    _t("AWS::QuickSight::AutomationJob", "QuickSight automation job",
       "QuickSight: calls on automation jobs"),
    _t("AWS::QuickSight::Extension", "AWS QuickSight Extension",
       "QuickSight: calls on extensions"),
    _t("AWS::QuickSight::ExtensionAccess", "AWS QuickSight Extension Access",
       "QuickSight: calls on extension access"),
    _t("AWS::QuickSight::Flow", "AWS QuickSight flow", "Amazon Quick: flow calls"),
    _t("AWS::QuickSight::FlowSession", "AWS QuickSight flow session",
       "Amazon Quick: flow session calls"),
    _t("AWS::QuickSight::Page", "Amazon QuickSight Page", "QuickSight: calls on pages"),
    _t("AWS::QuickSight::Task", "QuickSight Task", "QuickSight: calls on tasks"),
    _t("AWS::RDS::DBCluster", "RDS Data API - DB Cluster",
       "RDS Data API calls on a DB cluster"),
    _t("AWS::Redshift::Cluster", "Redshift Cluster", "Redshift: calls on clusters"),
    _t("AWS::ResourceExplorer2::ManagedView", "AWS Resource Explorer managed-view",
       "Resource Explorer: calls on managed views"),
    _t("AWS::ResourceExplorer2::View", "AWS Resource Explorer view",
       "Resource Explorer: calls on views"),
    _t("AWS::RUM::AppMonitor", "RUM app monitor", "CloudWatch RUM: calls on app monitors"),
    _t("AWS::S3::AccessPoint", "S3 Access Point", "S3: calls made through access points"),
    _t("AWS::S3Express::AccessPoint", "S3 Express Access Point",
       "S3 Express One Zone: calls on access points"),
    _t("AWS::S3Express::Object", "S3 Express",
       "Object-level calls on objects in directory buckets (S3 Express One Zone)"),
    _t("AWS::S3ObjectLambda::AccessPoint", "S3 Object Lambda",
       "S3 Object Lambda access point calls (GetObject, CompleteMultipartUpload...)"),
    _t("AWS::S3Outposts::Object", "S3 Outposts", "S3 on Outposts object-level calls"),
    _t("AWS::S3Tables::Table", "S3 table", "S3 Tables: calls on tables"),
    _t("AWS::S3Tables::TableBucket", "S3 table bucket", "S3 Tables: calls on table buckets"),
    _t("AWS::S3Vectors::Index", "S3 vector index", "S3 Vectors: calls on vector indexes"),
    _t("AWS::S3Vectors::VectorBucket", "S3 vector bucket",
       "S3 Vectors: calls on vector buckets"),
    _t("AWS::SageMaker::Endpoint", "SageMaker endpoint",
       "SageMaker AI: InvokeEndpointWithResponseStream on endpoints"),
    _t("AWS::SageMaker::ExperimentTrialComponent",
       "SageMaker metrics experiment trial component",
       "SageMaker AI: calls on experiment trial components"),
    _t("AWS::SageMaker::FeatureGroup", "SageMaker Feature Store",
       "SageMaker AI: calls on feature stores"),
    _t("AWS::SageMaker::Hub", "SageMaker hub", "SageMaker AI: calls on hubs"),
    _t("AWS::SageMaker::Job", "SageMaker jobs", "SageMaker AI: calls on jobs"),
    _t("AWS::SageMaker::MlflowApp", "AWS SageMaker MlflowApp",
       "SageMaker AI: calls on MLflow apps"),
    _t("AWS::SageMaker::MlflowTrackingServer", "SageMaker MLflow",
       "SageMaker AI: MLflow tracking server calls"),
    _t("AWS::SageMaker::TrainingSession", "SageMaker training session",
       "SageMaker AI: calls on training sessions"),
    _t("AWS::SCN::BusinessRule", "AWS::SCN::BusinessRule",
       "Supply Chain: calls on business rules"),
    _t("AWS::SCN::DataLakeException", "AWS::SCN::DataLakeException",
       "Supply Chain: calls on data lake exceptions"),
    _t("AWS::SCN::ExceptionInvestigation", "AWS::SCN::ExceptionInvestigation",
       "Supply Chain: calls on exception investigations"),
    _t("AWS::SCN::ExceptionRule", "AWS::SCN::ExceptionRule",
       "Supply Chain: calls on exception rules"),
    _t("AWS::SCN::Instance", "Amazon Connect Decisions", "Supply Chain: calls on an instance"),
    _t("AWS::SCN::Metric", "AWS::SCN::Metric", "Supply Chain: calls on metrics"),
    _t("AWS::SCN::MetricEvaluation", "AWS::SCN::MetricEvaluation",
       "Supply Chain: calls on metric evaluations"),
    _t("AWS::SCN::Outcome", "AWS::SCN::Outcome", "Supply Chain: calls on outcomes"),
    _t("AWS::SCN::OutcomeTemplate", "AWS::SCN::OutcomeTemplate",
       "Supply Chain: calls on outcome templates"),
    _t("AWS::SDB::Domain", "SimpleDB domain", "SimpleDB: calls on domains"),
    _t("AWS::ServiceDiscovery::Namespace", "AWS Cloud Map namespace",
       "Cloud Map: calls on namespaces"),
    _t("AWS::ServiceDiscovery::Service", "AWS Cloud Map service", "Cloud Map: calls on services"),
    _t("AWS::SES::ConfigurationSet", "SES configuration set",
       "SES: calls on configuration sets"),
    _t("AWS::SES::EmailIdentity", "SES identity", "SES: calls on email identities"),
    _t("AWS::SES::Template", "SES template", "SES: calls on templates"),
    _t("AWS::Signer::SigningJob", "Signer signing job", "Signer: calls on signing jobs"),
    _t("AWS::Signer::SigningProfile", "Signer signing profile",
       "Signer: calls on signing profiles"),
    _t("AWS::SitewiseAssistant::Conversation", "Sitewise Assistant conversation",
       "IoT SiteWise Assistant: calls on conversations"),
    _t("AWS::SMSVoice::CarrierLookup", "Carrier Lookup",
       "End User Messaging SMS: carrier lookups"),
    _t("AWS::SMSVoice::ConfigurationSet", "Configuration Set",
       "End User Messaging SMS: calls on configuration sets"),
    _t("AWS::SMSVoice::Message", "SMS Voice message", "End User Messaging SMS: calls on messages"),
    _t("AWS::SMSVoice::NotifyConfiguration", "Notify Configuration",
       "End User Messaging SMS: calls on notify configurations"),
    _t("AWS::SMSVoice::OriginationIdentity", "SMS Voice origination identity",
       "End User Messaging SMS: calls on origination identities"),
    _t("AWS::SNS::PlatformEndpoint", "SNS platform endpoint",
       "SNS: Publish to platform endpoints"),
    _t("AWS::SNS::Topic", "SNS topic", "SNS: Publish and PublishBatch on topics"),
    _t("AWS::SocialMessaging::PhoneNumberId", "Social-Messaging Phone Number ID",
       "End User Messaging Social: calls on phone number IDs"),
    _t("AWS::SocialMessaging::WabaId", "Social-Messaging Waba ID",
       "End User Messaging Social: calls on WhatsApp Business account IDs"),
    _t("AWS::SQS::Queue", "SQS", "SQS: message calls on queues"),
    _t("AWS::SSM::ExecutionPreview", "SSM Impact Assessment",
       "Systems Manager: calls on impact assessments"),
    _t("AWS::SSM::ManagedNode", "Systems Manager managed node",
       "Systems Manager: calls on managed nodes"),
    _t("AWS::SSMMessages::ControlChannel", "Systems Manager",
       "Systems Manager: calls on control channels"),
    _t("AWS::StepFunctions::Activity", "Step Functions activity",
       "Step Functions: calls on activities"),
    _t("AWS::StepFunctions::StateMachine", "Step Functions state machine",
       "Step Functions: calls on state machines"),
    _t("AWS::SupportAccess::Tenant", "SupportAccess tenant", "Support access: calls on tenants"),
    _t("AWS::SupportAccess::TrustingAccount", "SupportAccess trusting account",
       "Support access: calls on trusting accounts"),
    _t("AWS::SupportAccess::TrustingRole", "SupportAccess trusting role",
       "Support access: calls on trusting roles"),
    _t("AWS::SWF::Domain", "SWF domain", "Simple Workflow Service: calls on domains"),
    _t("AWS::ThinClient::Device", "Thin Client Device", "WorkSpaces Thin Client: device calls"),
    _t("AWS::ThinClient::Environment", "Thin Client Environment",
       "WorkSpaces Thin Client: environment calls"),
    _t("AWS::Timestream::Database", "Timestream database", "Timestream: Query on databases"),
    _t("AWS::Timestream::RegionalEndpoint", "Timestream regional endpoint",
       "Timestream: calls on regional endpoints"),
    _t("AWS::Timestream::Table", "Timestream table", "Timestream: Query on tables"),
    _t("AWS::Transform::AgentInstance", "Transform agent instance",
       "AWS Transform: calls on agent instances"),
    _t("AWS::Transform::Profile", "transform", "AWS Transform: calls on profiles"),
    _t("AWS::TransformCustom::Campaign", "Transform-Custom campaign",
       "Transform Custom: calls on campaigns"),
    _t("AWS::TransformCustom::Conversation", "Transform-Custom conversation",
       "Transform Custom: calls on conversations"),
    _t("AWS::TransformCustom::KnowledgeItem", "Transform-Custom knowledge item",
       "Transform Custom: calls on knowledge items"),
    _t("AWS::TransformCustom::Package", "Transform-Custom package",
       "Transform Custom: calls on packages"),
    _t("AWS::UXC::AccountCustomization", "UXC account customization",
       "Calls on account customizations"),
    _t("AWS::VerifiedPermissions::PolicyStore", "Amazon Verified Permissions",
       "Verified Permissions: calls on a policy store"),
    _t("AWS::WellArchitected::AgentRecommendation", "Well-Architected agent recommendation",
       "Well-Architected: calls on agent recommendations"),
    _t("AWS::XRay::Trace", "X-Ray trace", "X-Ray: calls on traces"),
)  # fmt: skip
"""Every data event resource type AWS documents, S3/Lambda/DynamoDB first, then by type."""

DATA_TYPES_BY_NAME: dict[str, DataResourceType] = {t.type: t for t in DATA_RESOURCE_TYPES}
"""The catalogue by ``resources.type``."""

DATA_TYPE_ALIASES: dict[str, str] = {
    "s3": "AWS::S3::Object",
    "lambda": "AWS::Lambda::Function",
    "dynamodb": "AWS::DynamoDB::Table",
    "s3express": "AWS::S3Express::Object",
}
"""Short names the answers file accepts in ``events.data[].type`` for the common types; any
other type is written as its ``resources.type`` value."""

ARN_SERVICES: dict[str, str] = {
    "AWS::S3::Object": "s3",
    "AWS::Lambda::Function": "lambda",
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::DynamoDB::Stream": "dynamodb",
    "AWS::S3Express::Object": "s3express",
    "AWS::SNS::Topic": "sns",
    "AWS::SQS::Queue": "sqs",
}
"""The ARN service of the resources of a type, where the API reference gives its ARN format:
a ``resources.ARN`` value of another service can never match."""


def resource_type(name: str) -> str:
    """The ``resources.type`` of an answers-file data type (a short name or the type itself)."""
    return DATA_TYPE_ALIASES.get(name, name)


def short_type(resource: str) -> str:
    """The answers file's short name of a resources.type, or the type itself."""
    for short, full in DATA_TYPE_ALIASES.items():
        if full == resource:
            return short
    return resource


def type_label(name: str) -> str:
    """How a person reads a data type: the console's name (``S3``), else the type."""
    found = DATA_TYPES_BY_NAME.get(resource_type(name))
    return found.label if found is not None else resource_type(name)


# ------------------------------------------------------------------ fields and operators

OPERATORS = ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith")
"""The operators of an advanced field selector."""

SELECT_OPERATORS = ("Equals", "StartsWith", "EndsWith")
"""Operators that select: an event matches when any of their values matches (OR)."""

DESELECT_OPERATORS = ("NotEquals", "NotStartsWith", "NotEndsWith")
"""Operators that leave out: an event that matches any of their values is not recorded, even
when a select operator matches it (the two groups are ANDed)."""


@dataclass(frozen=True)
class FieldRule:
    """What a field of a data event selector takes."""

    field: str
    """The event record field (``eventName``)."""
    operators: tuple[str, ...]
    """The operators AWS allows on it."""
    description: str
    """What it filters on, in a few words."""
    values: tuple[str, ...] = ()
    """The only values it takes (empty: free text)."""


DATA_FIELDS: tuple[FieldRule, ...] = (
    FieldRule("eventName", OPERATORS, "the API call, such as PutObject or Invoke"),
    FieldRule(
        "resources.ARN",
        OPERATORS,
        "the resource's ARN; Equals and NotEquals need a whole resource ARN, a bucket or "
        "folder needs StartsWith or NotStartsWith",
    ),
    FieldRule("eventSource", OPERATORS, "the service, such as s3.amazonaws.com"),
    FieldRule("eventType", OPERATORS, "the kind of record, such as AwsApiCall or AwsServiceEvent"),
    FieldRule(
        "userIdentity.arn", OPERATORS, "who made the call (a role, user or assumed-role ARN)"
    ),
    FieldRule(
        "sessionCredentialFromConsole",
        ("Equals", "NotEquals"),
        "calls made from an AWS Management Console session",
        values=("true",),
    ),
)
"""The fields a data event selector can filter on besides its category, its resource type and
readOnly (which the answers' ``read_write`` sets), with the operators AWS allows on each."""

DATA_FIELDS_BY_NAME: dict[str, FieldRule] = {f.field: f for f in DATA_FIELDS}
""":data:`DATA_FIELDS` by field name."""

VALUE_LENGTH_MAX = 2048
"""Each value of a field selector: 1 to 2,048 characters (AdvancedFieldSelector)."""

SELECTOR_NAME_MAX = 1000
"""An advanced event selector's Name: at most 1,000 characters (AdvancedEventSelector)."""

# ----------------------------------------------------------------- network activity events

VPCE_ACCESS_DENIED = "VpceAccessDenied"
"""The only ``errorCode`` a network activity selector takes."""

NETWORK_EVENT_SOURCES: tuple[str, ...] = (
    "aco-automation.amazonaws.com",
    "appconfig.amazonaws.com",
    "application-signals.amazonaws.com",
    "appmesh.amazonaws.com",
    "athena.amazonaws.com",
    "b2bi.amazonaws.com",
    "backup-gateway.amazonaws.com",
    "bcm-data-exports.amazonaws.com",
    "bcm-pricing-calculator.amazonaws.com",
    "bedrock-agentcore.amazonaws.com",
    "bedrock.amazonaws.com",
    "billing.amazonaws.com",
    "cassandra.amazonaws.com",
    "ce.amazonaws.com",
    "cloudcontrolapi.amazonaws.com",
    "cloudformation.amazonaws.com",
    "cloudhsm.amazonaws.com",
    "cloudoptimization.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "codedeploy.amazonaws.com",
    "comprehend.amazonaws.com",
    "comprehendmedical.amazonaws.com",
    "config.amazonaws.com",
    "ds.amazonaws.com",
    "dynamodb.amazonaws.com",
    "ec2.amazonaws.com",
    "ecs.amazonaws.com",
    "elasticfilesystem.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "events.amazonaws.com",
    "firehose.amazonaws.com",
    "frauddetector.amazonaws.com",
    "freetier.amazonaws.com",
    "fsx.amazonaws.com",
    "glue.amazonaws.com",
    "healthlake.amazonaws.com",
    "invoicing.amazonaws.com",
    "iot.amazonaws.com",
    "iotfleetwise.amazonaws.com",
    "iotsecuredtunneling.amazonaws.com",
    "kms.amazonaws.com",
    "lakeformation.amazonaws.com",
    "lambda.amazonaws.com",
    "license-manager.amazonaws.com",
    "lookoutequipment.amazonaws.com",
    "lookoutvision.amazonaws.com",
    "monitoring.amazonaws.com",
    "nova-act.amazonaws.com",
    "personalize.amazonaws.com",
    "qbusiness.amazonaws.com",
    "rds.amazonaws.com",
    "rekognition.amazonaws.com",
    "rolesanywhere.amazonaws.com",
    "s3.amazonaws.com",
    "sagemaker.amazonaws.com",
    "scheduler.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "servicediscovery.amazonaws.com",
    "sns.amazonaws.com",
    "sqs.amazonaws.com",
    "ssm-contacts.amazonaws.com",
    "ssm.amazonaws.com",
    "storagegateway.amazonaws.com",
    "swf.amazonaws.com",
    "textract.amazonaws.com",
    "transcribe.amazonaws.com",
    "transcribestreaming.amazonaws.com",
    "transform-agents.amazonaws.com",
    "transform-custom.amazonaws.com",
    "transform.amazonaws.com",
    "translate.amazonaws.com",
    "user-subscriptions.amazonaws.com",
    "verifiedpermissions.amazonaws.com",
    "voiceid.amazonaws.com",
    "workmail.amazonaws.com",
    "workmailmessageflow.amazonaws.com",
)
"""The ``eventSource`` values AWS lists for network activity events (one selector each)."""

VPCE_DENIAL_SOURCES = (
    "cloudtrail.amazonaws.com",
    "ec2.amazonaws.com",
    "kms.amazonaws.com",
    "s3.amazonaws.com",
    "secretsmanager.amazonaws.com",
)
"""The sources of the "VPC endpoint denials" preset: the five AWS's own network activity
examples use (CloudTrail, EC2, KMS, S3, Secrets Manager); a person adds or removes sources."""

# ------------------------------------------------------------------- Insights, aggregation

INSIGHT_CATEGORIES = ("Management", "Data")
"""``InsightSelector.EventCategories``: what Insights analyse."""

AGGREGATION_TEMPLATES: dict[str, str] = {
    "API_ACTIVITY": (
        "API activity: a 5-minute summary of the calls made (how often, who, from where)"
    ),
    "RESOURCE_ACCESS": "Resource access: how each resource was accessed, how often and by whom",
    "USER_ACTIONS": "User actions: activity by the IAM principal that made the calls",
}
"""``AggregationConfiguration.Templates`` of data event aggregation, with what each summarises."""
