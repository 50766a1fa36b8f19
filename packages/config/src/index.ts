export { DEFAULT_TOKEN_AUDIENCE, SETTINGS, SETTING_FORMS, fields, type SettingName } from './settings';
export { addRuleIssue, describeIssues, presentSettings } from './env';
export { AWS_KMS_SETTINGS, awsKmsConnection, refineAwsSettings, type AwsKmsConnection, type AwsKmsSettings } from './aws-kms';
