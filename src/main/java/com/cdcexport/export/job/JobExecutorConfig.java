package com.cdcexport.export.job;

import java.time.Duration;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;
import org.springframework.core.retry.RetryPolicy;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.transaction.TransactionException;

import com.cdcexport.config.CdcProperties;

@Configuration(proxyBeanMethods = false)
class JobExecutorConfig {

    /**
     * The threads that run exports: a fixed number, fed by {@link JobDispatcher}, which also drains them at
     * shutdown (this executor takes no part in the lifecycle's stop). Depending on the database beans makes the
     * context destroy this first, so an export cut off after the grace period is interrupted while its
     * connection still exists.
     */
    @Bean
    @DependsOn("dataSource")
    ThreadPoolTaskExecutor exportExecutor(CdcProperties properties) {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        executor.setThreadNamePrefix("export-");
        executor.setCorePoolSize(properties.jobs().workers());
        executor.setMaxPoolSize(properties.jobs().workers());
        // The dispatcher hands over a job only while it holds one of `workers` permits; the small queue just absorbs
        // the moment between a task releasing its permit and its thread becoming idle.
        executor.setQueueCapacity(properties.jobs().workers());
        executor.setAcceptTasksAfterContextClose(true);
        executor.setAwaitTerminationMillis(5_000);
        return executor;
    }

    /**
     * Retries a runner's bookkeeping statements (record a failure, read a commit's outcome) for about 15 seconds
     * with backoff: a database restart or failover is usually over by then, and a job whose runner cannot record
     * its end would otherwise stay "running" until EXPORT_STALE_AFTER.
     */
    @Bean
    RetryTemplate bookkeepingRetry() {
        return new RetryTemplate(RetryPolicy.builder()
                .includes(DataAccessException.class, TransactionException.class)
                .maxRetries(12)
                .delay(Duration.ofMillis(100))
                .multiplier(2)
                .maxDelay(Duration.ofSeconds(2))
                .timeout(Duration.ofSeconds(15))
                .build());
    }
}
