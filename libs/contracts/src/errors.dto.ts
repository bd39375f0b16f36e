import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The body of every 4xx: a message for people, the fields at fault for forms, the allowed actions on a 409. */
export class ErrorDto {
  @ApiProperty({ description: 'HTTP status code.', example: 400 })
  statusCode: number;

  @ApiProperty({ description: 'HTTP status text.', example: 'Bad Request' })
  error: string;

  @ApiProperty({ description: 'What went wrong, in one sentence.', example: 'speed must be a whole number' })
  message: string;

  @ApiPropertyOptional({
    description: 'Validation messages by field name.',
    example: { speed: ['speed must be a whole number'] },
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
  })
  fields?: Record<string, string[]>;

  @ApiPropertyOptional({
    description: 'On a 409 for a machine: the actions its state allows.',
    example: ['stop', 'suspend', 'console'],
    isArray: true,
    type: String,
  })
  allowedActions?: string[];
}
