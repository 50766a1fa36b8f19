import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeIssues, fields, presentSettings, SETTING_FORMS } from './index';

describe('the config vocabulary', () => {
  it('counts an empty or blank variable as unset, and keeps every other value as given', () => {
    expect(presentSettings({ PORT: '', VC_MODE: '  ', VC_KMS: 'local:k.json', VC_NATS_URL: undefined, VC_OPERATOR: ' ann ' })).toEqual({
      VC_KMS: 'local:k.json',
      VC_OPERATOR: ' ann ',
    });
  });

  it('states one line per bad variable in its form, never the value', () => {
    const parsed = z.object(fields('PORT', 'VC_KMS')).safeParse({ PORT: '70000', VC_KMS: 'vault:s3cret' });
    expect(parsed.success).toBe(false);
    const lines = describeIssues(parsed.error!);
    expect(lines).toEqual([`PORT: expected ${SETTING_FORMS.PORT}`, `VC_KMS: expected ${SETTING_FORMS.VC_KMS}`]);
    expect(lines.join('\n')).not.toContain('s3cret');
  });
});
