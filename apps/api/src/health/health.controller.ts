import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';

export class HealthDto {
  @ApiProperty({ description: 'Always "ok" when the API answers.', example: 'ok', enum: ['ok'] })
  status: 'ok';
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  @Public()
  @Get()
  @ApiOperation({ summary: 'Liveness check' })
  @ApiOkResponse({ type: HealthDto, description: 'The API is up.' })
  getHealth(): HealthDto {
    return { status: 'ok' };
  }
}
